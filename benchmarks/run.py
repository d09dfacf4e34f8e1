"""Run every benchmark and print one markdown table of figures with their targets.

    python benchmarks/run.py [--docs 10000] [--seed 0] [--repeat 3] [--skip-cjs] [--strict]
    make bench

The repository is generated once into ``benchmarks/out/`` (git-ignored) and reused while the
generator and its parameters are unchanged. ``--strict`` exits 1 when a figure misses its target.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import QV, Figure, ensure_repo, run_child, table
from bench_validate import api_figures, startup_figures, validate_figures
from bench_vs_checkjsonschema import NOTE, compare, find_builtin

HERE = Path(__file__).resolve().parent


def machine() -> str:
    """One line on the machine: the figures mean little without it."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = run_child([QV, "--version"]).stdout.strip() or "qv ?"
    py = platform.python_version()
    return f"{os.cpu_count()} CPUs ({cpu}), {platform.system()}, Python {py}, {version}"


def _generate(docs: int, seed: int) -> tuple[Path, Figure]:
    start = time.perf_counter()
    repo = ensure_repo(docs, seed)
    seconds = time.perf_counter() - start
    note = "reused (generator unchanged)" if seconds < 1 else "benchmarks/gen_repo.py"
    return repo, Figure(f"generate {docs} documents", seconds, "s", note=note)


# Benchmarks of other areas (bench_yamlio.py, bench_store.py, ...) report in their own format.
# bench_ab.py compares two revisions (it needs one named): run by hand, not part of the table.
_OWN = {"bench_ab.py", "bench_common.py", "bench_validate.py", "bench_vs_checkjsonschema.py"}


def extra_section(script: Path, timeout: float = 900) -> str:
    """Run another area's benchmark script and quote its report as it prints it."""
    try:
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"\n### {script.name}\n\ntimed out after {timeout:g} s\n"
    body = proc.stdout.strip() or proc.stderr.strip()[-2000:]
    return f"\n### {script.name} (exit {proc.returncode})\n\n```\n{body}\n```\n"


def extra_scripts() -> list[Path]:
    return [p for p in sorted(HERE.glob("bench_*.py")) if p.name not in _OWN]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run all qv benchmarks.")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per validate figure")
    parser.add_argument("--skip-cjs", action="store_true", help="skip check-jsonschema (~1 min)")
    parser.add_argument("--skip-extra", action="store_true", help="only this file's figures")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    repo, generated = _generate(args.docs, args.seed)
    figures = [generated, *validate_figures(repo, args.repeat), *api_figures(repo)]
    figures += startup_figures()
    if not args.skip_cjs:
        figures += compare(repo, find_builtin(repo, None, 0))
    print(f"## qv benchmarks — {args.docs} documents\n\nmachine: {machine()}\n")
    print(table(figures))
    if not args.skip_cjs:
        print(f"\n{NOTE}")
    for script in [] if args.skip_extra else extra_scripts():
        print(extra_section(script))
    missed = [f.name for f in figures if f.verdict == "FAIL"]
    if missed:
        print(f"missed targets: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    raise SystemExit(main())

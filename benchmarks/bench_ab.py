"""`qv validate` of an older revision and of the work tree side by side, alternating.

    python benchmarks/bench_ab.py REV [--docs 10000] [--rounds 3]

On a shared machine absolute figures drift by tens of percent within an hour; runs of the two
versions interleaved in the same minutes are the fair comparison. The old version's ``src/`` is
taken with ``git archive REV src`` into a temporary folder and run with ``PYTHONPATH`` through
the same interpreter; each version works on its own copy of the generated repository (their
caches differ). Per round and version: cold (no ``.qv/``), one run to settle, warm (unchanged),
then one Config value changed (``pool`` of ``environments/dev/configs/svc-0001.yaml``, as
``bench_validate.py`` edits it).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, edit_value, ensure_repo, run_child


def _old_src(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(str(into / "src"), quiet=1)
    return into / "src"


def _round(cmd: list[str], repo: Path, env: dict[str, str], step: int) -> dict[str, float]:
    def timed() -> float:
        run = run_child([*cmd, "-C", str(repo), "validate"], env=env)
        if run.returncode != 0:
            raise SystemExit(f"bench: validate failed: {run.stderr.strip()[-300:]}")
        return run.seconds

    shutil.rmtree(repo / ".qv", ignore_errors=True)
    out = {"cold": timed()}
    timed()
    out["warm"] = timed()
    edit_value(repo, step)
    out["one change"] = timed()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the older revision to compare with the work tree")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = ensure_repo(args.docs)
    cmd = [sys.executable, "-m", "qv_config.cli"]
    results: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory(prefix="qv-ab-") as tmp:
        work = Path(tmp)
        old_env = {**os.environ, "PYTHONPATH": str(_old_src(args.rev, work))}
        repos = {side: work / f"repo-{side}" for side in results}
        for repo in repos.values():
            shutil.copytree(base, repo, ignore=shutil.ignore_patterns(".qv"))
        for step in range(1, args.rounds + 1):
            for side, env in (("old", old_env), ("new", dict(os.environ))):
                for name, seconds in _round(cmd, repos[side], env, step).items():
                    results[side].setdefault(name, []).append(seconds)
    print(f"| figure | {args.rev} | work tree |\n|---|---|---|")
    for name in results["new"]:
        old, new = sorted(results["old"][name]), sorted(results["new"][name])
        print(f"| {name} | {old[0]:.2f}–{old[-1]:.2f} s | {new[0]:.2f}–{new[-1]:.2f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`qv validate` again after one file of each kind changed, on the 10,000-document repository.

    python benchmarks/bench_edits.py [--docs 10000] [--repeat 3]

``bench_validate.py`` changes one Config value, the case of its target (≤ 0.5 s). What a run
costs depends on what the file feeds: a Config is checked against its service schema alone; a
Flag, risk policy or strategy goes through its pydantic model and the cross-document rules; a
base file feeds every environment; a template every document that extends it; an Environment
document is the templating context of its whole environment. Each edit lowers one number by one
(a new value every run: never a cache hit); the file is restored afterwards.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import QV, Run, ensure_repo, run_child

# (what, file, the number to lower: a regex whose second group is the number)
EDITS = (
    ("a Config value (dev)", "environments/dev/configs/svc-0001.yaml", r"^(\s+pool: )(\d+)$"),
    ("a Flag's rollout (dev)", "environments/dev/flags/flag-0001.yaml", r"(rollout: ')(\d+)"),
    ("a risk policy limit (dev)", "environments/dev/risk/risk-0001.yaml", r"(notional: )(\d+)"),
    ("a base strategy limit (3 envs)", "strategies/carry-apac-00014.yaml", r"(notional: )(\d+)"),
    ("a service template (3 envs)", "templates/service/base.yaml", r"(timeout_ms: )(\d+)"),
    ("environment.yaml (dev)", "environments/dev/environment.yaml", r"(capital: )(\d+)"),
)


def _validate(repo: Path) -> Run:
    return run_child([QV, "-C", str(repo), "validate"])


def _lower(path: Path, pattern: str) -> None:
    text = path.read_text(encoding="utf-8")
    match = re.search(pattern, text, flags=re.MULTILINE)
    if match is None:
        raise SystemExit(f"bench: no number matching {pattern!r} in {path}")
    new = str(int(match.group(2)) - 1)
    path.write_text(text[: match.start(2)] + new + text[match.end(2) :], encoding="utf-8")


def measure(repo: Path, rel: str, pattern: str, repeat: int) -> list[Run]:
    path = repo / rel
    original = path.read_text(encoding="utf-8")
    runs = []
    try:
        for _ in range(repeat):
            _lower(path, pattern)
            runs.append(_validate(repo))
    finally:
        path.write_text(original, encoding="utf-8")
        _validate(repo)  # the next edit starts from a warm cache of the original tree
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    repo = ensure_repo(args.docs)
    _validate(repo)
    print("| one file changed | qv validate (median) | runs | exit |\n|---|---|---|---|")
    for what, rel, pattern in EDITS:
        runs = measure(repo, rel, pattern, args.repeat)
        median = statistics.median(r.seconds for r in runs)
        each = ", ".join(f"{r.seconds:.2f}" for r in runs)
        codes = sorted({r.returncode for r in runs})
        print(f"| {what} | {median:.2f} s | {each} | {', '.join(map(str, codes))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

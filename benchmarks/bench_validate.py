"""`qv validate` on a generated 10,000-document repository: cold, warm, one file changed, RSS;
and the start-up time of `qv --help` / `qv --version`.

    python benchmarks/bench_validate.py [--docs 10000] [--seed 0]

Each figure comes from a fresh ``qv`` process, as a user or CI would run it. "Cold" means no
``.qv/`` cache; "warm" runs again unchanged; "one file changed" edits one value in one Config.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import (
    QV,
    Figure,
    Run,
    ensure_repo,
    failure_note,
    median_seconds,
    run_child,
    table,
)

COLD_TARGET_S = 4.0
CHANGED_TARGET_S = 0.5
RSS_TARGET_MB = 400.0
STARTUP_TARGET_S = 0.2
EDITED = "environments/dev/configs/svc-0001.yaml"


def _validate(repo: Path) -> Run:
    return run_child([QV, "-C", str(repo), "validate"])


def _figure(name: str, run: Run, target: float, repeat: int) -> Figure:
    # Exit 0 (valid) is the only state in which the time means what the target means.
    if run.returncode != 0:
        return Figure(name, None, "s", target, note=failure_note(run))
    return Figure(name, run.seconds, "s", target, note=f"median of {repeat}")


def _edit_one_value(path: Path, step: int) -> str:
    """Change the pool size in one Config; return the original text to restore it."""
    original = path.read_text(encoding="utf-8")
    match = re.search(r"^(\s+pool: )(\d+)$", original, flags=re.MULTILINE)
    if match is None:
        raise SystemExit(f"bench: no 'pool:' line to edit in {path}")
    new = (int(match.group(2)) + step) % 40 + 1  # stays within the schema's 1..200
    path.write_text(
        original[: match.start(2)] + str(new) + original[match.end(2) :], encoding="utf-8"
    )
    return original


def _median(runs: list[Run]) -> Run:
    # A failed run explains the figure; otherwise the median run by wall time.
    failed = [r for r in runs if r.returncode != 0]
    return failed[0] if failed else sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]


def _cold(repo: Path, repeat: int) -> list[Run]:
    runs = []
    for _ in range(repeat):
        shutil.rmtree(repo / ".qv", ignore_errors=True)
        runs.append(_validate(repo))
    return runs


def _changed(repo: Path, repeat: int) -> list[Run]:
    edited = repo / EDITED
    original = edited.read_text(encoding="utf-8")
    runs = []
    try:
        for step in range(repeat):
            _edit_one_value(edited, step + 1)  # a different value each time: never a cache hit
            runs.append(_validate(repo))
    finally:
        edited.write_text(original, encoding="utf-8")
    return runs


def validate_figures(repo: Path, repeat: int = 3) -> list[Figure]:
    cold = _cold(repo, repeat)
    warm = [_validate(repo) for _ in range(repeat)]
    changed = _changed(repo, repeat)
    peak = max(cold, key=lambda r: r.max_rss_mb)
    rss = Figure("validate peak RSS", peak.max_rss_mb, "MB", RSS_TARGET_MB, note="max of cold runs")
    if any(r.returncode != 0 for r in cold):
        rss = Figure(
            "validate peak RSS", None, "MB", RSS_TARGET_MB, note=failure_note(_median(cold))
        )
    return [
        _figure("validate cold (no .qv cache)", _median(cold), COLD_TARGET_S, repeat),
        _figure("validate warm (unchanged)", _median(warm), CHANGED_TARGET_S, repeat),
        _figure("validate, one file changed", _median(changed), CHANGED_TARGET_S, repeat),
        rss,
    ]


# A fresh interpreter that times the two stages through the Python API: the breakdown of a cold
# run (and a figure even while the `qv validate` command is not wired up).
_API_PROBE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.validate import validate
t1 = time.perf_counter()
snapshot = load_snapshot(WorkTreeSource(Path(sys.argv[1])))
t2 = time.perf_counter()
result = validate(snapshot, use_cache=False)
t3 = time.perf_counter()
errors = sum(1 for f in result.findings if f.is_error)
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "validate": t3 - t2, "errors": errors}))
"""


def api_figures(repo: Path) -> list[Figure]:
    run = run_child([sys.executable, "-c", _API_PROBE, str(repo)])
    if run.returncode != 0:
        note = failure_note(run)
        return [Figure("API: load_snapshot", None, "s", note=note)]
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    note = f"fresh process, no cache; {probe['errors']} errors"
    return [
        Figure("API: imports", probe["import"], "s", note="qv_config.repo + qv_config.validate"),
        Figure("API: load_snapshot", probe["load"], "s", note=note),
        Figure("API: validate (render + rules)", probe["validate"], "s", note=note),
        Figure("API: peak RSS", run.max_rss_mb, "MB", note="whole probe process"),
    ]


def startup_figures() -> list[Figure]:
    out = []
    for flag in ("--help", "--version"):
        seconds, last = median_seconds([QV, flag])
        note = "median of 7" if last.returncode == 0 else failure_note(last)
        value = seconds if last.returncode == 0 else None
        out.append(Figure(f"qv {flag}", value, "s", STARTUP_TARGET_S, note=note))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark qv validate and qv start-up.")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per validate figure")
    args = parser.parse_args(argv)
    repo = ensure_repo(args.docs, args.seed)
    figures = validate_figures(repo, args.repeat) + api_figures(repo) + startup_figures()
    print(f"repository: {repo} ({args.docs} documents)\n")
    print(table(figures))
    return 1 if any(f.verdict == "FAIL" for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())

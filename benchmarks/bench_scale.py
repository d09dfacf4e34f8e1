"""How qv grows with the repository: time and memory of every hot command at 1k/10k/50k documents.

    python benchmarks/bench_scale.py [--docs 1000 10000 50000] [--repeat 3] [--only validate]

Per size, on a generated Git repository (``gen_repo.py --git``), each figure from fresh ``qv``
processes: ``validate`` cold (no ``.qv/``), warm (unchanged), one Config value changed;
``render --env prod --format json`` cold and warm; ``sync --env dev`` to a fresh SQLite store
(first: after a ``validate`` of the same tree, as CI runs them; and with no ``.qv/`` at all),
again with nothing changed; ``drift --env dev``. Memory is the peak of the PSS
(proportional set size) *summed over the whole process tree* — forked workers included, each
shared page counted once — sampled every 10 ms with psutil; one process's peak RSS hides
workers and double-counts what they share. Times are medians, with the range of the runs, of
runs that nothing samples: reading every process's smaps every 10 ms costs CPU, and on two
cores that CPU comes out of qv's (a first sync at 50,000 measured ~0.5–2 s slower sampled).
The memory figure comes from one more run of the same scenario, sampled.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import QV, edit_value, ensure_repo

TARGETS = {  # at 50,000 documents (issue 10); None: no target
    "validate cold": (None, 300.0),
    "validate warm": (0.3, 300.0),
    "validate one change": (0.5, 300.0),
    "render cold": (None, 300.0),
    "render warm": (None, 300.0),
    "sync first": (3.0, 300.0),
    "sync first, no .qv": (None, 300.0),
    "sync unchanged": (0.5, 300.0),
    "drift": (None, 300.0),
}


@dataclass(frozen=True)
class Sample:
    seconds: float
    pss_mb: float
    returncode: int
    stderr: str


def timed(cmd: Sequence[str]) -> Sample:
    """Run ``cmd`` unobserved; its wall time (no memory figure)."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(cmd), check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return Sample(time.perf_counter() - start, 0.0, proc.returncode, proc.stderr)


def measure(cmd: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``cmd``; its wall time and the peak PSS of it and all its descendants together."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(
        list(cmd), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_pss(root))
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    return Sample(seconds, peak / 2**20, proc.returncode, err)


def _tree_pss(root: object) -> int:
    import psutil

    assert isinstance(root, psutil.Process)
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except psutil.Error:  # ended between the listing and the reading
            continue
    return total


def scenarios(qv: Sequence[str], repo: Path) -> dict[str, Callable[[int], list[str]]]:
    """Name -> (step -> the command to time, after its set-up)."""
    base = [*qv, "-C", str(repo)]
    store = f"sqlite:{repo}/.bench-store.db"

    def cold(args: list[str]) -> Callable[[int], list[str]]:
        def prepare(step: int) -> list[str]:
            shutil.rmtree(repo / ".qv", ignore_errors=True)
            return [*base, *args]

        return prepare

    def warm(args: list[str], edit: bool = False) -> Callable[[int], list[str]]:
        def prepare(step: int) -> list[str]:
            subprocess.run([*base, *args], capture_output=True, check=False)  # settle
            if edit:
                edit_value(repo, step)
            return [*base, *args]

        return prepare

    def first_sync(cold: bool) -> Callable[[int], list[str]]:
        def prepare(step: int) -> list[str]:
            Path(f"{repo}/.bench-store.db").unlink(missing_ok=True)  # a new store
            if cold:
                shutil.rmtree(repo / ".qv", ignore_errors=True)
            else:  # the caches a validate of the same tree leaves (as CI before a deploy)
                subprocess.run([*base, "validate"], capture_output=True, check=False)
            return [*base, "sync", "--env", "dev", "--store", store]

        return prepare

    validate, render = ["validate"], ["render", "--env", "prod", "--format", "json"]
    return {
        "validate cold": cold(validate),
        "validate warm": warm(validate),
        "validate one change": warm(validate, edit=True),
        "render cold": cold(render),
        "render warm": warm(render),
        "sync first": first_sync(cold=False),
        "sync first, no .qv": first_sync(cold=True),
        "sync unchanged": lambda step: [*base, "sync", "--env", "dev", "--store", store],
        "drift": lambda step: [*base, "drift", "--env", "dev", "--store", store],
    }


def run_size(docs: int, repeat: int, only: str, qv: Sequence[str]) -> list[str]:
    repo = ensure_repo(docs, git=True)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=True)
    rows = []
    for name, prepare in scenarios(qv, repo).items():
        if only and only not in name:
            continue
        samples = [timed(prepare(step)) for step in range(1, repeat + 1)]
        samples.append(replace(measure(prepare(repeat + 1)), seconds=-1.0))  # memory only
        rows.append(_row(docs, name, samples))
        print(rows[-1], flush=True)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=True)
    return rows


def _row(docs: int, name: str, samples: list[Sample]) -> str:
    bad = [s for s in samples if s.returncode != 0]
    if bad:
        return f"| {docs:,} | {name} | exit {bad[0].returncode}: {bad[0].stderr.strip()[-80:]} | |"
    secs = sorted(s.seconds for s in samples if s.seconds >= 0)
    pss = max(s.pss_mb for s in samples)
    median = statistics.median(secs)
    spread = f"{secs[0]:.2f}–{secs[-1]:.2f}" if len(secs) > 1 else f"{secs[0]:.2f}"
    return f"| {docs:,} | {name} | {median:.2f} s ({spread}) | {pss:.0f} MB |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="run only scenarios whose name holds this")
    parser.add_argument(
        "--qv",
        default=QV,
        help="the qv command to run, split as a shell would (default: this interpreter's console"
        " script; e.g. 'python -m qv_config.cli' with PYTHONPATH set to an older src/)",
    )
    args = parser.parse_args(argv)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print("| documents | figure | time, median (range) | peak PSS, all processes |")
    print("|---|---|---|---|")
    for docs in args.docs:
        run_size(docs, args.repeat, args.only, shlex.split(args.qv))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

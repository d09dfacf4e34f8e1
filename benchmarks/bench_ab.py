"""`qv validate` of an older revision and of the work tree side by side, alternating.

    python benchmarks/bench_ab.py REV [--new REV2] [--docs 10000] [--rounds 3] [--warm-only]
                                      [--sync] [--first-sync]

On a shared machine absolute figures drift by tens of percent within an hour; runs of the two
versions interleaved in the same minutes are the fair comparison. The old version's ``src/`` is
taken with ``git archive REV src`` into a temporary folder and run with ``PYTHONPATH`` through
the same interpreter; each version works on its own copy of the generated repository (their
caches differ). Per round and version: cold (no ``.qv/``), one run to settle (2 s or more after
the last round's edit: outside the racy window of ``cache.tree``), warm (unchanged),
then one Config value changed (``pool`` of ``environments/dev/configs/svc-0001.yaml``, as
``bench_validate.py`` edits it). ``--warm-only`` leaves out the cold run (minutes at 50,000);
``--sync`` adds ``sync --env dev`` to a SQLite store with nothing changed (on the ``--git``
repository). ``--first-sync`` times only a first sync each round (``sync --env dev`` to a new
SQLite store with no ``.qv/``: the agent's first deploy). ``--new REV2`` takes the new side from
a revision too: both then run the same way from ``git archive`` (the work tree, run in place,
comes out ~15 % slower than the same code archived). Wall and CPU seconds (the process and its
workers) are given: on a busy machine the CPU time is the steadier of the two.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import ROOT, edit_value, ensure_repo, run_child


def _old_src(rev: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    compileall.compile_dir(str(into / "src"), quiet=1)
    return into / "src"


_RACY_S = 2.1  # cache.tree's racy window, and a margin
edited: dict[Path, float] = {}  # repository -> when its last round edited it


def _round(
    cmd: list[str], repo: Path, env: dict[str, str], step: int, args: argparse.Namespace
) -> dict[str, tuple[float, float]]:
    def timed(*what: str) -> tuple[float, float]:
        run = run_child([*cmd, "-C", str(repo), *(what or ("validate",))], env=env)
        if run.returncode != 0:
            raise SystemExit(f"bench: {what} failed: {run.stderr.strip()[-300:]}")
        return run.seconds, run.cpu_seconds

    out = {}
    if args.first_sync:
        shutil.rmtree(repo / ".qv", ignore_errors=True)
        (repo / ".bench-store.db").unlink(missing_ok=True)
        return {"first sync, no .qv": timed("sync", "--env", "dev", *_store(repo))}
    if not args.warm_only:
        shutil.rmtree(repo / ".qv", ignore_errors=True)
        out["cold"] = timed()
    # The last round's edit must be older than the racy window (cache.tree: 2 s) when the settle
    # run starts, or that run records the file racy again and "warm" re-reads it every round.
    time.sleep(max(0.0, _RACY_S - (time.time() - edited.get(repo, 0.0))))
    timed()
    out["warm"] = timed()
    edit_value(repo, step)
    edited[repo] = time.time()
    out["one change"] = timed()
    if args.sync:
        sync = ("sync", "--env", "dev", *_store(repo))
        timed(*sync)  # settle (the first sync of a new store)
        out["sync unchanged"] = timed(*sync)
    if (repo / ".git").exists():  # the edited file back, so that sync sees the commit's tree
        subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--", "."], check=False)
    return out


def _store(repo: Path) -> tuple[str, str]:
    return "--store", f"sqlite:{repo}/.bench-store.db"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the older revision to compare with the work tree")
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-only", action="store_true", help="no cold run")
    parser.add_argument("--sync", action="store_true", help="also sync with nothing changed")
    parser.add_argument("--first-sync", action="store_true", help="only a first sync, no .qv/")
    parser.add_argument("--new", help="a revision for the new side (default: the work tree)")
    args = parser.parse_args(argv)
    base = ensure_repo(args.docs, git=args.sync or args.first_sync)
    cmd = [sys.executable, "-m", "qv_config.cli"]
    results: dict[str, dict[str, list[tuple[float, float]]]] = {"old": {}, "new": {}}
    with tempfile.TemporaryDirectory(prefix="qv-ab-") as tmp:
        work = Path(tmp)
        old_env = {**os.environ, "PYTHONPATH": str(_old_src(args.rev, work / "old"))}
        new_env = dict(os.environ)
        if args.new:
            new_env["PYTHONPATH"] = str(_old_src(args.new, work / "new"))
        repos = {side: work / f"repo-{side}" for side in results}
        for repo in repos.values():
            shutil.copytree(base, repo, symlinks=True, ignore=shutil.ignore_patterns(".qv"))
        print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
        for step in range(1, args.rounds + 1):
            for side, env in (("old", old_env), ("new", new_env)):
                for name, seconds in _round(cmd, repos[side], env, step, args).items():
                    results[side].setdefault(name, []).append(seconds)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    new = args.new or "work tree"
    print(f"| figure | {args.rev} wall / CPU | {new} wall / CPU |\n|---|---|---|")
    for name in results["new"]:
        cells = [_cell(results[side][name]) for side in ("old", "new")]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    return 0


def _cell(runs: list[tuple[float, float]]) -> str:
    """Median wall and CPU seconds, with the range of the wall times."""
    wall, cpu = sorted(r[0] for r in runs), sorted(r[1] for r in runs)
    spread = f"{wall[0]:.2f}–{wall[-1]:.2f}"
    return f"{statistics.median(wall):.3f} s ({spread}) / {statistics.median(cpu):.3f} s"


if __name__ == "__main__":
    raise SystemExit(main())

"""Render and check the dev documents of the generated repository in one process, as a render
worker of a first ``qv sync`` does (``validate.rendered._render``, no memo, values kept).

    python benchmarks/bench_doccheck.py [--docs 50000] [--limit N] [--dump FILE] [--worker]

``--worker`` does what a forked render worker does around that loop too: each document's value
is decoded from the parse memo when first used (a worker's documents hold their values encoded,
as the parse workers sent them), its canonical JSON is spooled to an unnamed file, the progress
is counted in shared memory, and the part is encoded for the parent (``validate.rendered._worker``);
the dump is then what the parent gathers from it (``_take``, ``_unspool``).

Prints the wall and CPU time of the loop and the CPU per document. ``--limit N`` takes every
k-th document (N of them: 5,000 is one worker's part). ``--dump`` writes what the loop gathered
(records, facts, digests, input keys, values, findings) with marshal: two versions of qv must
give equal values once loaded (marshal's bytes vary with object sharing). For counts that do
not drift with the machine's load, run it under ``valgrind --tool=callgrind
--instr-atstart=no ... --callgrind``: only the loop is counted. Compare versions with
``PYTHONPATH=<other>/src`` (``git archive REV src``).
"""

from __future__ import annotations

import argparse
import gc
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["QV_JOBS"] = "1"  # this process renders: no forked workers

from bench_common import ensure_repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=50000)
    parser.add_argument("--limit", type=int, default=0, help="documents (0: all of dev's)")
    parser.add_argument("--dump", type=Path, help="write what was gathered here")
    parser.add_argument("--callgrind", action="store_true", help="count the loop only")
    parser.add_argument("--worker", action="store_true", help="as a forked render worker")
    args = parser.parse_args()
    repo = ensure_repo(args.docs, git=True)
    shutil.rmtree(repo / ".qv", ignore_errors=True)  # a first deploy: no memo of any kind
    state, run, found = _loop(repo, args.limit, args.callgrind, args.worker)
    if args.dump:
        args.dump.write_bytes(marshal.dumps(_gathered(state, run, found)))


def _loop(repo: Path, limit: int, callgrind: bool, worker: bool) -> tuple[Any, Any, Any]:
    from qv_config.cache.results import Results
    from qv_config.render.desired import canonical
    from qv_config.render.jobs import env_jobs
    from qv_config.repo import load_snapshot
    from qv_config.repo.git import GitSource
    from qv_config.validate import rendered
    from qv_config.validate.api import run_state
    from qv_config.validate.incremental import EnvPlan

    snapshot = load_snapshot(GitSource(repo, "HEAD"), envs=["dev"], use_cache=False)
    files = snapshot.environments["dev"]
    main = files.environment.path if files.environment else ""
    mains = sorted(job[0].path for job in env_jobs(snapshot, files) if job[0].path != main)
    if limit:
        mains = mains[:: max(1, len(mains) // limit)][:limit]
    rendered.warm()
    run = run_state(snapshot, Results(repo), date(2026, 12, 7))
    run.value_of = canonical
    plan = EnvPlan("dev", "", "", frozenset(mains), frozenset(), main=main)
    state = rendered.EnvRun(plan, {}, "", "")
    if worker:
        _release(snapshot)
    spool_file = getattr(rendered, "spool_file", tempfile.TemporaryFile)  # as the version does
    with spool_file() as spool:
        gc.collect()
        _instrument(callgrind, "on")
        wall, cpu = time.perf_counter(), time.process_time()
        if worker:
            blob = _as_worker(snapshot, state, run, mains, spool)
        else:
            found = rendered._render(snapshot, state, run)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        _instrument(callgrind, "off")
        if worker:
            found = _gathered_part(state, run, blob, spool)
    count = len(state.documents)
    print(f"{count} documents: {wall:.3f} s wall, {cpu:.3f} s CPU, {cpu / count * 1e6:.1f} us each")
    return state, run, found


def _release(snapshot: Any) -> None:
    """Every document's value left encoded in the parse memo, as a render worker finds them."""
    from qv_config.yamlio.loader import LazyDoc

    docs = [*snapshot.templates.values(), *snapshot.bases.values()]
    for files in snapshot.environments.values():
        docs += [files.environment, *files.overlays.values(), *files.documents.values()]
    for doc in docs:
        if isinstance(doc, LazyDoc):
            doc.release()


def _as_worker(snapshot: Any, state: Any, run: Any, mains: list[str], spool: Any) -> bytes:
    """``validate.rendered._worker`` on all of ``mains``, as one part: its part, encoded."""
    from dataclasses import replace

    from qv_config.repo.prefetch import SharedCount
    from qv_config.validate import rendered

    fresh = rendered.EnvRun(state.plan, {}, "", "")  # the worker's own: its parent's stays empty
    mine = replace(run, tick=SharedCount().add)
    gc.disable()  # as in ``validate_checked``, which forks the workers
    try:
        blob = rendered._worker(snapshot, fresh, mine, [spool], (0, mains))
    finally:
        gc.enable()
    assert blob is not None, "the worker's part could not be sent"
    return blob


def _gathered_part(state: Any, run: Any, blob: bytes, spool: Any) -> list[Any]:
    """What the parent makes of a worker's part (``_take``, ``_unspool``), into ``state``."""
    from qv_config.validate import rendered

    found = rendered._take(state, run, marshal.loads(blob))
    state.values.update(rendered._unspool(spool))
    return sorted(found, key=lambda f: f.sort_key())


def _instrument(callgrind: bool, switch: str) -> None:
    if callgrind:
        command = ["callgrind_control", "-i", switch, str(os.getpid())]
        subprocess.run(command, check=True, capture_output=True)


def _gathered(state: Any, run: Any, found: Any) -> tuple[Any, ...]:
    facts = {k: v if isinstance(v, bytes) else repr(v) for k, v in state.facts.items()}
    return (state.records, facts, state.digests, state.input_keys, state.documents,
            [repr(f) for f in state.unrecorded], state.values, [repr(f) for f in found],
            run.validated, sorted(run.models_ok), state.digest, state.context)  # fmt: skip


if __name__ == "__main__":
    main()

"""Checking several environments at once in forked worker processes (the cold path).

Rendering and validating one environment is pure Python: threads would not run in parallel, but
forked processes share the loaded snapshot copy-on-write and need nothing pickled on the way in.
Each worker (one per environment) returns only small things: findings, document names, its
environment's cache record and counters. Used only where it pays (about 800 documents to render),
only for the work tree (a Git snapshot reads through one shared ``git cat-file`` pipe), and only
where ``fork`` exists; otherwise environments are checked one after another.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qv_config.errors import QvError
from qv_config.findings import Finding

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot
    from qv_config.validate.engine import RunState

Documents = tuple[tuple[str, str, str], ...]
CheckOne = Callable[[str], tuple[list[Finding], Documents]]
Outcome = tuple[list[Finding], Documents, Any, tuple[set[str], set[str]], int, int]

_MAX_WORKERS = 4
# Documents to render (over all environments to check) below which forking costs more than
# the second core gives back. Measured on the 10,000-document benchmark (3 environments with
# cached records): 1,000 re-rendered documents took 0.50 s forked and 0.55 s in one process;
# 3 documents (a base strategy edited) 0.60 s forked and 0.46 s in one process.
_MIN_RENDERS = 800
_JOB: list[tuple[CheckOne, RunState]] = []  # set in the parent just before forking


def worth_it(snapshot: Snapshot, envs: Sequence[str], renders: int) -> bool:
    """Whether to check ``envs`` in forked workers, ``renders`` documents to render in all."""
    if len(envs) < 2 or snapshot.revision is not None or sys.platform == "win32":
        return False
    if os.environ.get("QV_JOBS") == "1" or (os.cpu_count() or 1) < 2:
        return False
    return renders >= _MIN_RENDERS


def check_all(
    snapshot: Snapshot,
    envs: Sequence[str],
    check: CheckOne,
    run: RunState,
    done: Callable[[str], None] = lambda env: None,
) -> list[tuple[list[Finding], Documents]]:
    """``check(env)`` for every env in forked workers; merges their cache records into ``run``.
    ``done(env)`` is called in the parent as each environment's outcome arrives."""
    import multiprocessing

    _warm_up(snapshot, run)
    _JOB.append((check, run))
    # Objects that exist now are never garbage: frozen, the workers' collector neither scans
    # them (CPU) nor writes to their pages (which would copy them out of the shared memory).
    gc.freeze()
    try:
        context = multiprocessing.get_context("fork")
        # One process per environment (up to 4) even on 2 cores: with 3 environments, 2 workers
        # would leave one core idle while the third environment runs alone.
        with context.Pool(processes=min(_MAX_WORKERS, len(envs))) as pool:
            outcomes: list[Any] = []
            for env, outcome in zip(envs, pool.imap(_work, envs, chunksize=1), strict=True):
                outcomes.append(outcome)
                done(env)
    finally:
        _JOB.clear()
        gc.unfreeze()
    for outcome in outcomes:
        if len(outcome) == 3:
            error, message, hint = outcome
            raise error(message, hint=hint)
    results = []
    for env, (findings, documents, record, known, validated, cached) in zip(
        envs, outcomes, strict=True
    ):
        run.cache.adopt(env, record, *known)
        run.validated += validated
        run.cached += cached
        results.append((findings, documents))
    return results


def _warm_up(snapshot: Snapshot, run: RunState) -> None:
    """Shared set-up done once in the parent, inherited by every worker: without it each worker
    pays it again (compiling ~40 service schemas alone costs ~0.3 s)."""
    from qv_config.render.jobs import warm_up

    warm_up(snapshot)
    schemas = [p for p in snapshot.digests if p.startswith("schemas/configs/")]
    run.schemas.preload(p for p in schemas if p.endswith(".schema.json"))


def _work(env: str) -> Outcome | tuple[type[QvError], str, str | None]:
    check, run = _JOB[-1]
    before = (run.validated, run.cached)
    try:
        findings, documents = check(env)
    except QvError as err:  # keyword arguments do not survive pickling: rebuilt in the parent
        return type(err), err.message, err.hint
    record = run.cache.export(env)
    validated, cached = run.validated - before[0], run.cached - before[1]
    known = (set(run.cache.schemas_ok), set(run.cache.models_ok))
    return findings, documents, record, known, validated, cached

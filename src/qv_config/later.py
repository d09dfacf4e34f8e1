"""Writes that serve only the next run (cache records), done on the other core while this
process goes on with what the user waits for (``qv sync``: the gate and the apply).

``Later.add`` keeps a piece of such work; ``Later.meanwhile`` runs the kept pieces in a forked
child for the duration of a block, and waits for the child when the block ends; what is still
kept when the ``Later`` itself is left (an exception before ``meanwhile``: a refused state, a
missing key) is done then, here, as it would have been in line. What the child
writes is what this process would have written (the same code on the same data: every record
complete, atomic and MAC'd as usual). When the child does not finish (an exception, a signal),
the same pieces run again here: a bug raises here with its own traceback and exit code, as it
did when the writes were done in line. ``AT_ONCE`` does each piece as it is added (every caller
that passes nothing: the writes happen where they always did).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Callable, Iterator


class Later:
    """Pieces of work kept for ``meanwhile`` (or, ``at_once``, done as they are added)."""

    def __init__(self, at_once: bool = False) -> None:
        self._at_once = at_once
        self._work: list[Callable[[], None]] = []

    def __enter__(self) -> Later:
        return self

    def __exit__(self, *exc: object) -> None:
        work, self._work = self._work, []
        _run(work)

    def add(self, work: Callable[[], None]) -> None:
        if self._at_once:
            work()
        else:
            self._work.append(work)

    @contextlib.contextmanager
    def meanwhile(self, fork: bool) -> Iterator[None]:
        """The kept work, done during the block: in a forked child when ``fork`` (and the
        platform forks), else here before the block. Waits for the child at the block's end."""
        work, self._work = self._work, []
        if not work:
            yield
            return
        if not fork or sys.platform == "win32":
            _run(work)
            yield
            return
        pid = _start(work)
        try:
            yield
        finally:
            _finish(pid, work)


AT_ONCE = Later(at_once=True)


def _run(work: list[Callable[[], None]]) -> None:
    for piece in work:
        piece()


def _start(work: list[Callable[[], None]]) -> int:
    """A child doing ``work``; its exit status says whether all of it was done."""
    pid = os.fork()
    if pid == 0:  # the child: no cleanup of the parent's (its files, its store) on the way out
        done = 1
        try:
            gc.disable()  # a collection would touch, and so copy, the whole inherited heap
            _run(work)
            done = 0
        finally:
            os._exit(done)
    return pid


def _finish(pid: int, work: list[Callable[[], None]]) -> None:
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        _run(work)  # not all done: here, where an error surfaces as it always did

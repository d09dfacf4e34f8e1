"""Work on both cores: a cold load's files read, hashed and parsed in forked workers (values
sent back as marshal blobs, errors as data: every problem is still the parent's finding), and
``in_workers`` for other work of that shape (``validate.rendered``). Only for many files;
``QV_JOBS=1`` turns it off."""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache, partial
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from qv_config.yamlio import Limits, YamlError
from qv_config.yamlio.loader import value_of

if TYPE_CHECKING:
    from multiprocessing.pool import IMapIterator

_MIN_FILES = 2000
WORKERS = 2

Failed = tuple[str, str, int, int]  # code, message, line, col
_JOB: list[Callable[[Any], Any]] = []  # set just before forking


class Prefetched(NamedTuple):
    """What the workers made of their files. Files in neither mapping (gone since the listing,
    encrypted, a value marshal cannot hold) the parent loads itself."""

    parsed: dict[str, tuple[str, bytes]]  # path -> digest, encoded value (loaded cleanly)
    failed: dict[str, tuple[str, Failed]]  # path -> digest of its bytes, its load error

    @classmethod
    def none(cls) -> Prefetched:
        return cls({}, {})


def worth_it(items: Sequence[object]) -> bool:
    """Whether so many items are worth forking workers (``QV_JOBS=1``: never)."""
    if len(items) < _MIN_FILES or sys.platform == "win32" or os.environ.get("QV_JOBS") == "1":
        return False
    return (os.cpu_count() or 1) >= 2


def in_workers(
    job: Callable[[Any], Any],
    items: Sequence[Any],
    waiting: Callable[[], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
    then: Callable[[int, Any], Any] | None = None,
) -> list[Any]:
    """``job`` of each item, each in a process forked for it (``WORKERS`` at a time: a worker
    holds what one item leaves behind, never what several do). Workers share the parent's
    memory as it was (copy-on-write); what they return must be picklable. ``waiting`` is
    called about ten times a second until they are done (progress); ``meanwhile`` once, when
    they have started (this process's own work, done while they do theirs). ``then(index,
    result)``, if given, is called here on each result as soon as its worker is done, while the
    others still run (the last parts leave a core idle), and the list holds what it returns."""
    import multiprocessing

    _fix_mmap_threshold()
    _JOB.append(job)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(processes=WORKERS, maxtasksperchild=1) as pool:
            pending = pool.imap_unordered(_call_at, list(enumerate(items)), chunksize=1)
            if meanwhile is not None:
                meanwhile()
            out: list[Any] = [None] * len(items)
            for _ in items:
                at, result = _next(pending, waiting)
                out[at] = result if then is None else then(at, result)
            if waiting is not None:
                waiting()
            return out
    finally:
        _JOB.clear()


def _next(
    pending: IMapIterator[tuple[int, Any]], waiting: Callable[[], None] | None
) -> tuple[int, Any]:
    """The next result to arrive, telling ``waiting`` about ten times a second meanwhile."""
    import multiprocessing

    while waiting is not None:
        try:
            return pending.next(timeout=0.1)
        except multiprocessing.TimeoutError:
            waiting()
    return pending.next()


class SharedCount:
    """A count forked workers add to and their parent reads (shared memory, one lock)."""

    def __init__(self) -> None:
        import multiprocessing

        self._value = multiprocessing.get_context("fork").Value("q", 0)
        self._told = 0

    def add(self, amount: int) -> None:
        with self._value.get_lock():
            self._value.value += amount

    def reporter(self, tell: Callable[[int], None]) -> Callable[[], None]:
        """What tells ``tell`` of the count added since it last did."""

        def report() -> None:
            now = self._value.value
            if now > self._told:
                tell(now - self._told)
                self._told = now

        return report


@cache
def _fix_mmap_threshold() -> None:
    """glibc raises its mmap threshold each time a large block is freed (up to 32 MB): the
    10-30 MB blocks workers send back then come from the heap, and the heap keeps what they
    leave (~60 MB more at 50,000 documents, in a process whose workers share its pages). A
    fixed threshold keeps large blocks mapped, and unmapped when freed."""
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: its allocator decides
        pass


def both(first: Callable[[], None], then: Callable[[], None] | None) -> Callable[[], None]:
    """``first``, then ``then`` (if any): two pieces of work for one ``meanwhile``."""

    def run() -> None:
        first()
        if then is not None:
            then()

    return run


def _call(item: Any) -> Any:
    return _JOB[-1](item)


def _call_at(pair: tuple[int, Any]) -> tuple[int, Any]:
    return pair[0], _call(pair[1])


ReadMany = Callable[[list[str]], Mapping[str, bytes | None]]


def prefetch(
    paths: Sequence[str],
    read: ReadMany,
    limits: Limits,
    meanwhile: Callable[[], None] | None = None,
) -> Prefetched:
    """Read (``read``: a chunk of paths -> their bytes, called in the worker) and parse
    ``paths`` in forked workers. ``meanwhile``: as ``in_workers``."""
    chunks = [list(paths[start::WORKERS]) for start in range(WORKERS)]
    results = forked(partial(_parse_chunk, read, limits), chunks, meanwhile)
    out = Prefetched.none()
    for chunk, blob in zip(chunks, results, strict=True):
        if blob is not None:  # else its files are the parent's to load, as without workers
            _unpack(chunk, marshal.loads(blob), out)
    return out


def forked(
    job: Callable[[Any], bytes | None],
    items: Sequence[Any],
    meanwhile: Callable[[], None] | None = None,
    *,
    at_once: int = 0,
    waiting: Callable[[], None] | None = None,
    then: Callable[[int, bytes | None], Any] | None = None,
) -> list[Any]:
    """``job`` of each item, each in a process forked for it that writes its bytes to an
    unnamed file (None: that process failed, or its job gave None). Bare forks, not a pool: no
    pickled parts, no megabytes through pipes to a thread, no replacement forked for a worker
    that ends (~70 ms of this process's CPU for a first sync's parse). ``at_once``: how many
    run at a time (0: all), the next forked when one ends; ``meanwhile`` runs once the first
    ones have started (one that ends before it returns is replaced then: forking them all at
    the start, taking turns, cost ~17 MB of peak PSS at 50,000 documents, the waiting ones
    keeping the pages this process rewrites); ``waiting`` and ``then``: as ``in_workers``."""
    import tempfile

    _fix_mmap_threshold()
    at_once = at_once or len(items)
    out: list[Any] = [None] * len(items)
    with contextlib.ExitStack() as files:
        spools = [files.enter_context(tempfile.TemporaryFile()) for _ in items]
        running: dict[int, int] = {}  # pid -> the place of its item
        try:
            for at, item in enumerate(items):
                if len(running) >= at_once:
                    _hand_over(running, spools, out, waiting, then)
                running[_fork(job, item, spools[at])] = at
                if meanwhile is not None and at + 1 == min(at_once, len(items)):
                    meanwhile()  # once, when the first ones have started
            while running:
                _hand_over(running, spools, out, waiting, then)
        finally:
            for pid in running:  # only if this process was interrupted (or a fork failed)
                _stop(pid)
        return out


def _hand_over(
    running: dict[int, int],
    spools: Sequence[IO[bytes]],
    out: list[Any],
    waiting: Callable[[], None] | None,
    then: Callable[[int, bytes | None], Any] | None,
) -> None:
    """Wait for one of the ``running`` children to end; its bytes (or ``then`` of them) into
    ``out`` at its item's place."""
    at, ok = _next_ended(running, waiting)
    blob = _spooled(spools[at]) if ok else None
    out[at] = blob if then is None else then(at, blob)


def _next_ended(running: dict[int, int], waiting: Callable[[], None] | None) -> tuple[int, bool]:
    """The place of a child of ``running`` that ended (reaped, and taken out), and whether it
    did its job; ``waiting`` is told about ten times a second meanwhile."""
    import time

    told = time.monotonic()
    while True:
        for pid in running:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return running.pop(pid), os.waitstatus_to_exitcode(status) == 0
        if waiting is None:
            _pause(running, None)
            continue
        left = told + 0.1 - time.monotonic()
        if left <= 0:
            waiting()
            told, left = time.monotonic(), 0.1
        _pause(running, left)


def _pause(pids: Iterable[int], most: float | None) -> None:
    """Sleep until one of ``pids`` ends, ``most`` seconds at most (None: no bound). Where a
    process cannot be waited for with a timeout (no pidfd), a short nap instead."""
    import select
    import time

    fds: list[int] = []
    try:
        for pid in pids:
            fds.append(os.pidfd_open(pid))
        select.select(fds, [], [], most)
    except (AttributeError, OSError):  # not Linux ≥ 5.3
        time.sleep(0.005 if most is None else min(most, 0.005))
    finally:
        for fd in fds:
            os.close(fd)


def _fork(job: Callable[[Any], bytes | None], item: Any, spool: IO[bytes]) -> int:
    """A child doing ``job(item)`` into ``spool``: its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        blob = job(item)
        if blob is not None:
            spool.write(blob)
            spool.flush()
            code = 0
    finally:  # whatever happened (an error, ^C): this copy of the parent ends here
        os._exit(code)


def _stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    os.waitpid(pid, 0)


def _spooled(spool: IO[bytes]) -> bytes:
    spool.seek(0)
    return spool.read()


def _unpack(chunk: list[str], found: Found, out: Prefetched) -> None:
    """A worker's outcome into ``out`` (one pass in C for the thousands that loaded)."""
    ok, digests, blobs, failed = found
    out.parsed.update(zip([chunk[at] for at in ok], zip(digests, blobs, strict=True), strict=True))
    out.failed.update((chunk[at], row) for at, row in failed.items())


Found = tuple[list[int], list[str], list[bytes], dict[int, tuple[str, Failed]]]
"""A worker's outcome: the files that loaded (their places in its chunk), their digests and
encoded values; the others' digests and errors, by place."""


def _parse_chunk(read: ReadMany, limits: Limits, paths: list[str]) -> bytes:
    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash

    datas = read(paths)
    found: Found = ([], [], [], {})
    ok, digests, blobs, failed = found
    for at, path in enumerate(paths):
        data = datas.get(path)
        if data is None:  # gone: the parent sees why
            continue
        try:
            digest, value = value_of(path, data, limits)
        except YamlError as err:
            line, col = (err.mark.line, err.mark.col) if err.mark else (0, 0)
            failed[at] = (content_hash(data), (err.code, err.detail, line, col))
            continue
        # An encrypted file is loaded whole by the parent (its sops block is kept aside).
        blob = encode(value) if type(value) is not dict or "sops" not in value else None
        if blob is not None:
            ok.append(at)
            digests.append(digest)
            blobs.append(blob)
    return marshal.dumps(found)

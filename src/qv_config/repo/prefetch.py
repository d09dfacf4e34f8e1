"""Work on both cores: a cold load's files read, hashed and parsed in forked workers (values
sent back as marshal blobs, errors as data: every problem is still the parent's finding), and
``in_workers`` for other work of that shape (``validate.rendered``). Only for many files;
``QV_JOBS=1`` turns it off."""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import cache, partial
from typing import TYPE_CHECKING, Any, NamedTuple

from qv_config.yamlio import Limits, YamlError, load_bytes

if TYPE_CHECKING:
    from multiprocessing.pool import IMapIterator

_MIN_FILES = 2000
WORKERS = 2

Parsed = tuple[str, bytes]  # digest, marshal blob of the value
Failed = tuple[str, str, int, int]  # code, message, line, col
_JOB: list[Callable[[Any], Any]] = []  # set just before forking


class Prefetched(NamedTuple):
    """Outcome of one file parsed by a worker: a value (``blob``) or an error. (A tuple: one is
    made per file of a cold load, ~2 µs each as a frozen dataclass, ~0.5 µs as this.)"""

    digest: str = ""  # of the file's bytes (with a value or an error)
    blob: bytes = b""
    error: Failed | None = None
    missing: bool = False  # the file went away; neither blob nor error: load it in the parent
    sops: bool = False  # the value has a top-level ``sops`` block (an encrypted file)


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
) -> dict[str, Prefetched]:
    """Read (``read``: a chunk of paths -> their bytes, called in the worker) and parse
    ``paths`` in forked workers; path -> outcome. ``meanwhile``: as ``in_workers``."""
    chunks = [list(paths[start::WORKERS]) for start in range(WORKERS)]
    results = in_workers(partial(_parse_chunk, read, limits), chunks, meanwhile=meanwhile)
    out: dict[str, Prefetched] = {}
    for chunk, blob in zip(chunks, results, strict=True):
        for path, row in zip(chunk, marshal.loads(blob), strict=True):
            out[path] = _outcome(row)
    return out


def _outcome(row: tuple[Any, ...]) -> Prefetched:
    if row[0] == "ok":
        return Prefetched(row[1], row[2], sops=row[3])
    if row[0] == "error":
        return Prefetched(row[2], error=row[1])
    return Prefetched(missing=row[0] == "missing")


def _parse_chunk(read: ReadMany, limits: Limits, paths: list[str]) -> bytes:
    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash

    datas = read(paths)
    rows: list[tuple[Any, ...]] = []
    for path in paths:
        data = datas.get(path)
        if data is None:
            rows.append(("missing",))
            continue
        try:
            doc = load_bytes(path, data, limits=limits)
        except YamlError as err:
            line, col = (err.mark.line, err.mark.col) if err.mark else (0, 0)
            rows.append(("error", (err.code, err.detail, line, col), content_hash(data)))
            continue
        blob = encode(doc.data)
        sops = type(doc.data) is dict and "sops" in doc.data
        rows.append(("ok", doc.digest, blob, sops) if blob is not None else ("retry",))
    return marshal.dumps(rows)

"""The file of the parse cache (``.qv/cache/parse.bin``): its layout, reading and writing.

Every run needs the whole stat index but few of the values (a document's value is decoded on
first use of its data), so the file is laid out for reading the index alone::

    seal | format line | index length (8 bytes) | index (one marshal) | blob area

The index holds the YAML limits the entries were accepted under, the paths and the stat rows
as packed columns (unmarshalling 10,000 tuples of big ints costs twice as much), and the
digests; value ``i`` is one marshal blob at ``offsets[i]:offsets[i + 1]`` of the blob area, read
with ``pread`` only when it is used. For 10,000 files, opening the cache costs ~5 ms (1.3 MB of
index) where reading and unmarshalling the whole 6 MB file took ~17 ms.

A missing, corrupt, truncated, foreign, unsealed or older file is simply ignored.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
import weakref
from array import array
from collections.abc import Collection, Iterator, Mapping
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from qv_config import __version__
from qv_config.repo.statefile import open_sealed

__all__ = [
    "NO_INDEX",
    "Index",
    "StatEntry",
    "StatKey",
    "Stored",
    "open_cache",
    "pack_payload",
    "unpack_payload",
]

# The packed columns are in this machine's byte order: a file from another kind is another format.
_FORMAT = f"qv-parse-3/{sys.byteorder}/{__version__}"
_LINE = f"{_FORMAT}\n".encode()
_LENGTH = struct.Struct("<Q")  # of the index, right after the format line
_TOP = len(_LINE) + _LENGTH.size
# Array codes of the columns mtime_ns, size, inode, ctime_ns, value number; the value offsets.
# (Unsigned numbers: a damaged one is out of range, never a negative index.)
_CODES = ("q", "q", "Q", "q", "Q", "q")
_RANGES = {"q": range(-(2**63), 2**63), "Q": range(2**64)}
# Paths and digests are stored joined by NUL (no path holds one): one string to unmarshal.
_SEP = "\0"

StatKey = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns
StatEntry = tuple[int, int, int, int, str]  # a StatKey and the digest of the file's bytes


class Index(NamedTuple):
    """The index of a cache file: read on every run, so everything in it is cheap to load."""

    settings: str  # the YAML limits of qv.yaml the entries were accepted under
    rows: dict[str, int]  # path -> its row in the columns
    stat: tuple[array[int], ...]  # columns mtime_ns, size, inode, ctime_ns
    numbers: array[int]  # column: the number of the row's value
    digests: dict[str, int]  # digest -> value number
    names: list[str]  # value number -> digest
    offsets: array[int]  # value i is offsets[i]:offsets[i + 1] of the blob area

    def entry(self, row: int) -> StatEntry | None:
        """Row ``row`` as a stat entry (None: it names no stored value, a damaged file)."""
        mtime, size, inode, ctime = self.stat
        number = self.numbers[row]
        if number >= len(self.names):
            return None
        return mtime[row], size[row], inode[row], ctime[row], self.names[number]

    def entries(self) -> Iterator[tuple[str, StatEntry]]:
        """Every row as (path, stat entry), in order; digest "" where a row names no value."""
        names, mtime, size, inode, ctime = self.names, *self.stat
        digests = (names[number] if number < len(names) else "" for number in self.numbers)
        return zip(self.rows, zip(mtime, size, inode, ctime, digests, strict=True), strict=True)


NO_INDEX = Index("", {}, (array("q"),) * 4, array("Q"), {}, [], array("q", [0]))


class Stored:
    """The blob area of the cache file this run started from, read on demand.

    The file stays open while the cache lives (documents decode their values late, after
    ``save``); a newer file replaces it by rename, so reads keep seeing this one. ``pread``, not
    ``mmap``: a mapped file cut short in place by anything else would kill the process with
    SIGBUS, where a short read is only a miss (and mapping an empty file fails)."""

    def __init__(
        self, fd: int = -1, start: int = 0, offsets: array[int] = NO_INDEX.offsets
    ) -> None:
        self._fd = fd
        self._start = start  # of the blob area in the file
        self._offsets = offsets
        self._close = weakref.finalize(self, os.close, fd) if fd >= 0 else None

    def blob(self, number: int) -> bytes | None:
        """Value ``number``'s bytes (None: not stored, or the file is damaged)."""
        offsets = self._offsets
        if not 0 <= number < len(offsets) - 1:
            return None
        start, end = offsets[number], offsets[number + 1]
        if not 0 <= start <= end <= offsets[-1]:
            return None
        return self._read(self._start + start, end - start)

    def area(self) -> bytes | None:
        """The whole blob area, in one read (a rewrite copies the values still used)."""
        return self._read(self._start, self._offsets[-1])

    def _read(self, offset: int, size: int) -> bytes | None:
        if self._fd < 0:
            return None
        try:
            data = _pread(self._fd, size, offset)
        except OSError:
            return None
        return data if len(data) == size else None

    def close(self) -> None:
        if self._close is not None:
            self._close()


def open_cache(path: Path) -> tuple[Index, Stored]:
    """The cache file at ``path`` if this user's qv wrote it in this format, else nothing."""
    # Sealed: a parse.bin this user's qv did not write (committed, restored from another
    # machine's CI cache) could map a file's digest to any value, so it is never read.
    sealed = open_sealed(path)
    if sealed is None:
        return NO_INDEX, Stored()
    fd, after_seal = sealed
    found = _read_index(fd, after_seal)
    if found is None:
        os.close(fd)
        return NO_INDEX, Stored()
    index, start = found
    return index, Stored(fd, start, index.offsets)


def _read_index(fd: int, after_seal: int) -> tuple[Index, int] | None:
    """The index of the open cache file, and where its blob area starts."""
    top = after_seal + _TOP
    try:
        size = _index_size(_pread(fd, _TOP, after_seal))
        if size is None:
            return None
        area = os.fstat(fd).st_size - top - size
        data = _pread(fd, size, top) if area >= 0 else b""
    except OSError:
        return None
    index = _parse_index(data) if len(data) == size else None
    if index is None or index.offsets[-1] != area:  # truncated (or grown) since written
        return None
    return index, top + size


def _index_size(head: bytes) -> int | None:
    if len(head) < _TOP or not head.startswith(_LINE):
        return None
    size: int = _LENGTH.unpack_from(head, len(_LINE))[0]
    return size


def _parse_index(data: bytes) -> Index | None:
    try:
        raw = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return None
    if type(raw) is not tuple or len(raw) != 3 + len(_CODES):
        return None
    settings, paths, names, *packed = raw
    arrays = _arrays(packed)
    if type(settings) is not str or type(paths) is not str or type(names) is not str:
        return None
    rows, digests = _numbered(paths), _numbered(names)
    if arrays is None or rows is None or digests is None:
        return None
    *stat, numbers, offsets = arrays
    if any(len(column) != len(rows) for column in arrays[:5]) or len(offsets) != len(digests) + 1:
        return None
    if offsets[0] != 0:
        return None
    return Index(settings, rows, tuple(stat), numbers, digests, list(digests), offsets)


def _numbered(joined: str) -> dict[str, int] | None:
    """Each of the joined strings -> its position (None: one is there twice, a damaged file)."""
    items = joined.split(_SEP) if joined else []
    numbered = dict(zip(items, range(len(items)), strict=True))
    return numbered if len(numbered) == len(items) else None


def _arrays(packed: list[Any]) -> list[array[int]] | None:
    arrays = []
    for code, blob in zip(_CODES, packed, strict=True):
        if type(blob) is not bytes or len(blob) % 8:
            return None
        column = array(code)
        column.frombytes(blob)
        arrays.append(column)
    return arrays


def pack_payload(
    blobs: Mapping[str, bytes | memoryview], settings: str, stats: Mapping[str, StatEntry]
) -> bytes:
    """The cache file's contents after the seal (stat entries without a value are left out)."""
    names = list(blobs)
    number = dict(zip(names, range(len(names)), strict=True))
    rows = {path: entry for path, entry in stats.items() if entry[4] in number}
    try:
        columns = _columns(rows.values(), number)
    except OverflowError:  # a value no column holds (no real file system gives one): left out
        rows = {path: entry for path, entry in rows.items() if _fits(entry)}
        columns = _columns(rows.values(), number)
    offsets = array("q", accumulate(map(len, blobs.values()), initial=0))
    packed = (column.tobytes() for column in (*columns, offsets))
    index = marshal.dumps((settings, _SEP.join(rows), _SEP.join(names), *packed))
    return b"".join((_LINE, _LENGTH.pack(len(index)), index, *blobs.values()))


def _columns(entries: Collection[StatEntry], number: dict[str, int]) -> list[array[int]]:
    return [
        array("q", [entry[0] for entry in entries]),
        array("q", [entry[1] for entry in entries]),
        array("Q", [entry[2] for entry in entries]),
        array("q", [entry[3] for entry in entries]),
        array("Q", [number[entry[4]] for entry in entries]),
    ]


def unpack_payload(payload: bytes) -> tuple[dict[str, bytes], str, dict[str, StatEntry]] | None:
    """What ``pack_payload`` packed (values, settings, stat index); None for anything else.

    For tools and tests that look into a cache file: qv itself reads only what it uses."""
    size = _index_size(payload)
    index = _parse_index(payload[_TOP : _TOP + size]) if size is not None else None
    if index is None or size is None or index.offsets[-1] != len(payload) - _TOP - size:
        return None
    area, offsets = payload[_TOP + size :], index.offsets
    blobs = {name: area[offsets[i] : offsets[i + 1]] for i, name in enumerate(index.names)}
    return blobs, index.settings, {path: entry for path, entry in index.entries() if entry[4]}


def _fits(entry: StatEntry) -> bool:
    """Whether a stat entry fits the packed columns (any real file system's values do)."""
    return all(value in _RANGES[code] for code, value in zip(_CODES[:4], entry[:4], strict=True))


def _pread(fd: int, size: int, offset: int) -> bytes:
    if sys.platform == "win32":  # no pread; one reader per file object, so seek + read is safe
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)
    return os.pread(fd, size, offset)

"""The one storage format of every cache file: a pack of named records, each with its MAC.

::

    magic (16 bytes) | index length (8) | index | index MAC (16) | record area

The index is one marshal of plain data (the record names joined by NUL, their offsets in the
record area as packed integers, their MACs concatenated) and is authenticated as a record of its
own. A record is read on demand (``pread``: a run that needs three values of a 30 MB pack reads
three) and returned only when its MAC checks; anything else — a missing, truncated, grown,
foreign or damaged file or record — is simply absent. Packs are written whole, to a temporary
file renamed into place, so a reader sees a whole old pack or a whole new one.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import struct
import sys
import tempfile
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from qv_config.cache.seal import TAG_BYTES, Sealer

_MAGIC = b"qv-cache-pack/1\n"
_LENGTH = struct.Struct("<Q")
_TOP = len(_MAGIC) + _LENGTH.size
_INDEX = "\0index"  # the index's own record name (no record name holds a NUL)
_BISECTS = 64  # lookups by bisection before the index becomes a dict
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)

Payload = bytes | memoryview


class Sealed(NamedTuple):
    """A record as stored: its bytes and their MAC."""

    data: bytes
    tag: bytes


class Pack:
    """The records of one pack file, read and checked on demand. Names are looked up in the
    index's sorted list (a run that reads a few records of a pack of 50,000 builds no dict),
    and through a dict once a run has looked up many."""

    def __init__(
        self,
        sealer: Sealer | None = None,
        fd: int = -1,
        start: int = 0,
        index: tuple[list[str], array[int], bytes] = ([], array("Q", [0]), b""),
    ) -> None:
        self._sealer = sealer
        self._fd = fd
        self._start = start  # of the record area in the file
        self._names, self._offsets, self._tags = index
        self._numbers: dict[str, int] | None = None
        self._lookups = 0
        self._close = weakref.finalize(self, os.close, fd) if fd >= 0 else None

    @property
    def numbers(self) -> dict[str, int]:
        """Record name -> its number."""
        if self._numbers is None:
            self._numbers = dict(zip(self._names, range(len(self._names)), strict=True))
        return self._numbers

    def names(self) -> list[str]:
        return self._names

    def __len__(self) -> int:
        return len(self._names)

    def _number(self, name: str) -> int | None:
        if self._numbers is None and self._lookups < _BISECTS:
            self._lookups += 1
            at = bisect_left(self._names, name)
            return at if at < len(self._names) and self._names[at] == name else None
        return self.numbers.get(name)

    @classmethod
    def open(cls, path: Path, sealer: Sealer | None) -> Pack:
        """The pack at ``path`` if this user's qv wrote it for this file; else an empty one."""
        if sealer is None:
            return cls()
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except OSError:
            return cls()
        found = _read_index(fd, sealer)
        if found is None:
            os.close(fd)
            return cls()
        return cls(sealer, fd, *found)

    def __contains__(self, name: str) -> bool:
        return self._number(name) is not None

    def get(self, name: str) -> bytes | None:
        """Record ``name``'s bytes when present and authentic."""
        found = self.raw(name)
        if found is None or self._sealer is None or not self._sealer.check(name, *found):
            return None
        return found.data

    def raw(self, name: str) -> Sealed | None:
        """Record ``name``'s bytes and MAC as they are, unchecked: for copying it into a new
        version of the same file (where it is checked when read, like any record)."""
        number = self._number(name)
        if number is None:
            return None
        start, end = self._offsets[number], self._offsets[number + 1]
        try:
            data = _pread(self._fd, end - start, self._start + start)
        except OSError:
            return None
        if len(data) != end - start:  # the file shrank since it was opened
            return None
        return Sealed(data, self._tags[number * TAG_BYTES : (number + 1) * TAG_BYTES])

    def close(self) -> None:
        if self._close is not None:
            self._close()


def _read_index(fd: int, sealer: Sealer) -> tuple[int, tuple[list[str], array[int], bytes]] | None:
    try:
        total = os.fstat(fd).st_size
        head = _pread(fd, _TOP, 0)
        if len(head) != _TOP or not head.startswith(_MAGIC):
            return None
        size: int = _LENGTH.unpack_from(head, len(_MAGIC))[0]
        if _TOP + size + TAG_BYTES > total:  # a damaged length: never allocate what it says
            return None
        body = _pread(fd, size + TAG_BYTES, _TOP)
    except OSError:
        return None
    index, tag = body[:size], body[size:]
    if len(tag) != TAG_BYTES or not sealer.check(_INDEX, index, tag):
        return None
    parsed = _parse_index(index)
    start = _TOP + size + TAG_BYTES
    if parsed is None or start + parsed[1][-1] != total:  # truncated or grown since written
        return None
    return start, parsed


def _parse_index(index: bytes) -> tuple[list[str], array[int], bytes] | None:
    # Authentic (its MAC checked), so written by this qv: only a damaged disk gets past here.
    try:
        joined, packed, tags = marshal.loads(index)
        offsets = array("Q")
        offsets.frombytes(packed)
    except (EOFError, ValueError, TypeError):
        return None
    names = joined.split("\0") if joined else []
    if len(offsets) != len(names) + 1 or len(tags) != TAG_BYTES * len(names):
        return None
    return names, offsets, tags


def write(path: Path, sealer: Sealer | None, records: Mapping[str, Payload | Sealed]) -> bool:
    """Write ``records`` as the pack at ``path``, atomically; False when it could not be (a
    folder that cannot be written only makes qv slower). A ``Sealed`` record (``Pack.raw`` of
    the file this one replaces) keeps its MAC."""
    if sealer is None:
        return False
    names = sorted(records)  # looked up by bisection
    payloads = [_data(records[name]) for name in names]
    offsets = array("Q", accumulate(map(len, payloads), initial=0))
    tags = b"".join(_tag(sealer, name, records[name]) for name in names)
    index = marshal.dumps(("\0".join(names), offsets.tobytes(), tags))
    head = (_MAGIC, _LENGTH.pack(len(index)), index, sealer.tag(_INDEX, index))
    return _replace(path, (*head, *payloads))


def _data(record: Payload | Sealed) -> Payload:
    return record.data if isinstance(record, Sealed) else record


def _tag(sealer: Sealer, name: str, record: Payload | Sealed) -> bytes:
    return record.tag if isinstance(record, Sealed) else sealer.tag(name, record)


def _replace(path: Path, parts: tuple[Payload, ...]) -> bool:
    tmp: str | None = None
    try:
        ensure_folder(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as out:
            out.writelines(parts)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    return True


def ensure_folder(folder: Path) -> None:
    """Make ``.qv/...``, with a ``.qv/.gitignore`` that ignores it all (as .pytest_cache does)."""
    folder.mkdir(parents=True, exist_ok=True)
    top = next((p for p in (folder, *folder.parents) if p.name == ".qv"), None)
    if top is not None and not (top / ".gitignore").exists():
        (top / ".gitignore").write_text(
            "# created by qv: caches and local state, safe to delete\n*\n"
        )


def read_one(path: Path, sealer: Sealer | None, name: str) -> bytes | None:
    """Record ``name`` of a small pack read whole (the descriptor is closed at once)."""
    pack = Pack.open(path, sealer)
    try:
        return pack.get(name)
    finally:
        pack.close()


def _pread(fd: int, size: int, offset: int) -> bytes:
    if sys.platform == "win32":  # no pread; each pack has its own descriptor
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)
    return os.pread(fd, size, offset)

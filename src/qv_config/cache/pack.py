"""The one storage format and the one integrity mechanism of every cache file.

::

    magic (16 bytes) | index length (8) | index | index MAC (16) | record area

A pack is named records read on demand (``pread``); the index (names joined by NUL, offsets,
MACs: one marshal) is a record of its own. Every record carries an HMAC-SHA256 (cut to 128 bits)
under a random per-user key kept outside the repository (``cache.key``), bound to the format,
the qv and Python versions, qv's code (``code_hash``), the project folder, the file and the
record name: a record forged, copied from another project or file, renamed, truncated or
damaged is absent, never an error. No key: caches are off. Packs are written whole to a
temporary file renamed into place; no link under ``.qv/`` is ever followed (``cache.local``),
and a cache file that is not a regular file is absent. See docs/performance.md, "The cache".
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import marshal
import os
import stat
import struct
import sys
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from functools import cache
from itertools import accumulate
from pathlib import Path
from typing import Any, NamedTuple

from qv_config import __version__
from qv_config.cache.key import user_key
from qv_config.cache.local import QV_DIR, real_folders, refused

FORMAT = "qv-cache/1"
TAG_BYTES = 16
_MAGIC = b"qv-cache-pack/1\n"
_LENGTH = struct.Struct("<Q")
_TOP = len(_MAGIC) + _LENGTH.size
_INDEX = "\0index"  # the index's own record name (no record name holds a NUL)
_BISECTS = 64  # lookups by bisection before the index becomes a dict
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
# Never through a link, and never blocking: a FIFO (or a device) in place of a cache file would
# hang a blocking open; it is then found not to be a regular file, and ignored.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW  # never an existing file or link
_GITIGNORE = "# created by qv: caches and local state, safe to delete\n*\n"

Payload = bytes | memoryview


@cache
def code_hash() -> str:
    """Fingerprint of qv's own code (``fingerprint`` of the package): records written by other
    code — a development build of the same version after any edit, a reinstall — are not read."""
    return fingerprint(str(Path(__file__).parents[1]))


def fingerprint(package: str) -> str:
    """Every module below ``package`` by path, size and modification time (~1 ms for qv's 280;
    reading them all would take ~10 ms a run)."""
    digest = hashlib.blake2b(digest_size=16)
    todo, cut = [package], len(package) + 1
    while todo:
        with os.scandir(todo.pop()) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.is_dir(follow_symlinks=False) and entry.name != "__pycache__":
                    todo.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat(follow_symlinks=False)
                    # The path below ``package`` (each entry's path is ``package/...``): sliced,
                    # not os.path.relpath (~4 µs a module, half of this function).
                    where = entry.path[cut:]
                    digest.update(f"{where}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


class Sealer:
    """MACs the records of one cache file of one project."""

    def __init__(self, key: bytes, root: Path, file: str, extra: str = "") -> None:
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"  # marshal's format may change
        parts = (FORMAT, __version__, code_hash(), python, os.path.realpath(root), file, extra, "")
        binding = "\0".join(parts).encode("utf-8", "surrogateescape")
        self._base = hmac.new(key, binding, "sha256")

    def tag(self, name: str, payload: Payload) -> bytes:
        mac = self._base.copy()
        mac.update(name.encode("utf-8", "surrogateescape") + b"\0")
        mac.update(payload)
        return mac.digest()[:TAG_BYTES]

    def check(self, name: str, payload: Payload, tag: bytes) -> bool:
        return hmac.compare_digest(self.tag(name, payload), tag)


def sealer(root: Path | None, file: str, extra: str = "") -> Sealer | None:
    """The sealer of ``file`` (relative to ``.qv/cache/``) of the project at ``root``, its
    records also bound to ``extra`` (e.g. a hash of the code that made them); None when
    caching is off (no root, no key, or a link under ``.qv/`` on the way to the file or in
    place of it or of ``.qv/.gitignore``: committed to the repository, it would make qv write
    or read wherever it points)."""
    if root is None:
        return None
    if refused(root, f"cache/{file}") is not None or refused(root, ".gitignore") is not None:
        return None
    key = user_key(root)
    return Sealer(key, root, file, extra) if key is not None else None


class Sealed(NamedTuple):
    """A record as stored: its bytes and their MAC."""

    data: bytes
    tag: bytes


class Pack:
    """The records of one pack file, read and checked on demand. Names are looked up in the
    index's sorted list (a run that reads a few records of a pack of 50,000 builds no dict:
    ~12 ms), and through a dict once a run has looked up many."""

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

    def __contains__(self, name: str) -> bool:
        return self._number(name) is not None

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
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # a FIFO, a device: never read (it may block)
            return None
        total = st.st_size
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
    # Authentic (its MAC checked), so written by this qv: only a damaged disk gets past here.
    try:
        joined, packed, tags = marshal.loads(index)
        offsets = array("Q", packed)
    except (EOFError, ValueError, TypeError):
        return None
    names = joined.split("\0") if joined else []
    start = _TOP + size + TAG_BYTES
    if len(offsets) != len(names) + 1 or len(tags) != TAG_BYTES * len(names):
        return None
    if start + offsets[-1] != total:  # truncated or grown since written
        return None
    return start, (names, offsets, tags)


_WRITE_BUFFER = 1 << 20


def write(path: Path, sealer: Sealer | None, records: Mapping[str, Payload | Sealed]) -> bool:
    """Write ``records`` as the pack at ``path``, atomically; False when it could not be (a
    folder that cannot be written only makes qv slower). A ``Sealed`` record (``Pack.raw`` of
    the file this one replaces) keeps its MAC."""
    if sealer is None:
        return False
    names = sorted(records)  # looked up by bisection
    stored = [records[name] for name in names]
    payloads = [r.data if isinstance(r, Sealed) else r for r in stored]
    offsets = array("Q", accumulate(map(len, payloads), initial=0))
    tags = b"".join(
        r.tag if isinstance(r, Sealed) else sealer.tag(n, r)
        for n, r in zip(names, stored, strict=True)
    )
    index = marshal.dumps(("\0".join(names), offsets.tobytes(), tags))
    head = (_MAGIC, _LENGTH.pack(len(index)), index, sealer.tag(_INDEX, index))
    return _replace(path, (*head, *payloads))


def _replace(path: Path, parts: tuple[Payload, ...]) -> bool:
    import tempfile  # here: a run that writes no cache file imports none of it (~3 ms)

    tmp: str | None = None
    try:
        ensure_folder(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        # Buffered by 1 MiB, not 8 KiB: a pack of 20,000 values is ~1,500 write calls less.
        with os.fdopen(fd, "wb", buffering=_WRITE_BUFFER) as out:
            out.writelines(parts)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return False
    return True


def ensure_folder(folder: Path) -> None:
    """Make ``.qv/...`` (never through a link: OSError), with a ``.qv/.gitignore`` that ignores
    it all (as .pytest_cache does), made only where there is nothing (not even a link)."""
    top = next((p for p in (folder, *folder.parents) if p.name == QV_DIR), None)
    if top is None:
        folder.mkdir(parents=True, exist_ok=True)
        return
    top.parent.mkdir(parents=True, exist_ok=True)  # the project folder: the user's, links and all
    real_folders(top, folder)
    try:
        fd = os.open(top / ".gitignore", _CREATE_FLAGS, 0o666)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as out:
        out.write(_GITIGNORE)


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


class StateMemo:
    """Plain data by (environment, input key: the Git tree ids of everything it renders from,
    ``repo.history``) in ``.qv/cache/<kind>/`` of the project ``root`` (None: nothing kept):
    rendered documents (``render/``), desired-state hashes (``desired/``), ... With ``keep``,
    only the ``keep`` most recently used files stay."""

    def __init__(self, root: Path | None, kind: str, keep: int | None = None) -> None:
        self._root, self._kind, self._keep = root, kind, keep

    def _where(self, env: str, key: str) -> tuple[Path, Sealer | None]:
        assert self._root is not None
        digest = hashlib.blake2b(f"{env}\0{key}".encode(), digest_size=16).hexdigest()
        name = f"{self._kind}/{digest}.qvc"
        return self._root / ".qv" / "cache" / name, sealer(self._root, name)

    def get(self, env: str, key: str) -> Any | None:
        if self._root is None:
            return None
        path, seal = self._where(env, key)
        blob = read_one(path, seal, "state")
        if blob is None:
            return None
        if self._keep is not None:  # the most recently *used* stay (the deployed state's)
            with contextlib.suppress(OSError):  # (a link there was not read: not touched)
                os.utime(path, follow_symlinks=os.utime not in os.supports_follow_symlinks)
        return marshal.loads(blob)

    def put(self, env: str, key: str, value: Any) -> bool:
        """Keep ``value``; False when it could not be (not plain data, or no cache)."""
        if self._root is None:
            return False
        try:
            blob = marshal.dumps(value)
        except ValueError:  # a value of an unexpected type: not kept rather than fail
            return False
        path, seal = self._where(env, key)
        written = write(path, seal, {"state": blob})
        if written and self._keep is not None:
            with contextlib.suppress(OSError):  # another qv pruned at the same time
                entries = sorted(path.parent.glob("*.qvc"), key=lambda p: p.lstat().st_mtime_ns)
                for old in entries[: -self._keep]:
                    old.unlink(missing_ok=True)
        return written

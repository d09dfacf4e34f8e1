"""The parse cache: values of loaded YAML files by content digest, under ``.qv/cache/``.

Warm runs skip YAML parsing for every file whose bytes are unchanged, and (work tree only) skip
even *reading* a file whose stat is unchanged: a stat index maps each path to
``(mtime_ns, size, inode, ctime_ns)`` and the content digest it had, as Git's index does. The
file's layout (index read eagerly, values on demand) is ``repo.parsefile``'s.

The file holds builtin types only, is keyed by the qv version, is written atomically and sealed
(``repo.statefile``), and a missing, corrupt, truncated, foreign, unsealed or older file is simply
ignored. Deleting ``.qv/`` is always safe.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Mapping
from itertools import compress
from pathlib import Path
from typing import Any

from qv_config.repo.parsefile import (
    NO_INDEX,
    StatEntry,
    StatKey,
    Stored,
    open_cache,
    pack_payload,
    unpack_payload,
)

# Re-exported: every cache writer imports these from here, and all of them must seal (statefile).
from qv_config.repo.statefile import ensure_state_dir, read_state_file, write_state_file
from qv_config.yamlio.types import ReplaceDict, ReplaceList

__all__ = [
    "ParseCache",
    "StatEntry",
    "StatKey",
    "decode_blob",
    "encode_blob",
    "ensure_state_dir",
    "pack_payload",
    "read_state_file",
    "stat_key",
    "unpack_payload",
    "write_state_file",
]

# A file modified this close to the run's start may change again within the clock's granularity
# without changing its stat ("racy" entries, as Git calls them): never trusted from the index.
_RACY_NS = 2_000_000_000
# How many files the stat index on disk may lag behind the tree before it is rewritten.
_MAX_BEHIND = 32


class ParseCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        # The YAML limits of qv.yaml: a stat entry vouches for a file accepted under the same ones.
        self.settings = ""
        index, self._stored = open_cache(path) if path is not None else (NO_INDEX, Stored())
        self._index = index
        # Flat attributes: known_digests looks at every file, 10,000 times a run.
        self._rows, self._stat, self._numbers = index.rows, index.stat, index.numbers
        self._digests, self._names = index.digests, index.names
        self._kept = bytearray(len(index.names))  # old values this run used: kept by a rewrite
        self._carried = bytearray(len(index.rows))  # old stat rows this run found still true
        self._fresh: dict[str, StatEntry] = {}  # stat entries new or changed since the file
        self._new: dict[str, bytes] = {}  # values encoded by workers
        self._pending: dict[str, Any] = {}  # new values, encoded at save time
        self.hits = 0
        self.misses = 0
        self.started_ns = _now_ns()

    def close(self) -> None:
        """Let go of the cache file (also done when the cache is garbage collected)."""
        self._stored.close()

    def get(self, digest: str) -> Any | None:
        number = self._digests.get(digest)
        if number is None:
            return self._pending.get(digest)
        blob = self._stored.blob(number)
        if blob is None:
            return None
        try:
            value = decode_blob(blob)
        except (EOFError, ValueError, TypeError):
            return None
        self.hits += 1
        self._kept[number] = 1
        return value

    def has(self, digest: str) -> bool:
        return digest in self._digests or digest in self._pending

    def keep(self, digest: str) -> None:
        """Keep an entry this run relies on without decoding it (a lazily loaded document)."""
        number = self._digests.get(digest)
        if number is not None:
            self._kept[number] = 1

    def put(self, digest: str, value: Any) -> None:
        self.misses += 1
        self._pending[digest] = value

    def put_blob(self, digest: str, blob: bytes) -> None:
        """A value already encoded (by a worker process, see ``prefetch``)."""
        self.misses += 1
        self._new[digest] = blob

    def known_digest(self, path: str, stat: StatKey) -> str | None:
        """The digest of ``path`` when its stat is unchanged since a previous run (else None)."""
        return self.known_digests({path: stat}).get(path)

    def known_digests(self, stats: Mapping[str, StatKey | None]) -> dict[str, str]:
        """Path -> digest of each file whose stat is unchanged since a previous run, in one
        call (a warm run asks for all 10,000); the run relies on their values, so a rewrite
        keeps them."""
        if self._index.settings != self.settings:
            return {}
        rows, numbers, names, count = self._rows, self._numbers, self._names, len(self._names)
        mtime, size, inode, ctime = self._stat
        carried, kept = self._carried, self._kept
        found: dict[str, str] = {}
        for path, stat in stats.items():
            row = rows.get(path)
            if row is None or stat is None:
                continue
            if (mtime[row], size[row], inode[row], ctime[row]) != stat:
                continue
            number = numbers[row]
            if number < count:  # else a damaged row: as if unknown
                carried[row] = kept[number] = 1
                found[path] = names[number]
        return found

    def remember(self, path: str, stat: StatKey, digest: str) -> None:
        """Record a file just read; skipped when its mtime is too recent to be trusted."""
        if stat[0] >= self.started_ns - _RACY_NS:
            return
        entry = (*stat, digest)
        row = self._rows.get(path)
        if row is not None and self._index.entry(row) == entry:
            self._carried[row] = 1  # as it was: the old row stays
            self._fresh.pop(path, None)
            return
        self._fresh[path] = entry
        if row is not None:
            self._carried[row] = 0

    def save(self) -> None:
        """Keep what this run used (so the file tracks the tree and does not grow without end).

        Rewriting the whole file (~6 MB for 10,000 files, ~50 ms) is amortised: while the file on
        disk is behind the tree by at most ``_MAX_BEHIND`` files (edited, added or removed since
        it was written), it is left as it is. Those files are read and parsed again on the next
        run (~1 ms each): their old stat entries no longer match, so they are never trusted."""
        if self.path is None or self._unchanged():
            return
        if self._names and self._behind() <= _MAX_BEHIND:
            return
        blobs = self._kept_blobs()
        blobs.update(self._new)
        for digest, value in self._pending.items():
            blob = encode_blob(value)
            if blob is not None:
                blobs[digest] = blob
        write_state_file(self.path, pack_payload(blobs, self.settings, self._stats()))

    def _kept_blobs(self) -> dict[str, bytes | memoryview]:
        """The old values this run used, sliced from one read of the old blob area."""
        area = self._stored.area() if any(self._kept) else None
        if area is None:
            return {}
        view, offsets = memoryview(area), self._index.offsets
        kept = (number for number, used in enumerate(self._kept) if used)
        return {self._names[i]: view[offsets[i] : offsets[i + 1]] for i in kept}

    def _stats(self) -> dict[str, StatEntry]:
        """The stat index as this run leaves it: old rows still true, then new entries."""
        stats = dict(compress(self._index.entries(), self._carried))
        stats.update(self._fresh)
        return stats

    def _behind(self) -> int:
        """Files the index on disk no longer vouches for, compared with what this run saw."""
        rows = self._rows
        if self.settings != self._index.settings:  # other limits: nothing carries over
            return len(self._fresh) + len(rows) + _MAX_BEHIND + 1
        # Each fresh entry differs from the file's; each old row neither carried nor replaced by
        # a fresh entry is gone (the file was removed, or changed too recently to be trusted).
        replaced = sum(1 for path in self._fresh if path in rows and not self._carried[rows[path]])
        gone = len(rows) - self._carried.count(1) - replaced
        return len(self._fresh) + gone

    def _unchanged(self) -> bool:
        # Counts, not comparisons of 10,000 entries: a warm run ends here. No fresh entry and
        # every old row carried means the same stat index; no miss and every old value kept,
        # the same values.
        return (
            not self._pending
            and not self.misses
            and not self._fresh
            and self._kept.count(0) == 0
            and self._carried.count(0) == 0
            and self.settings == self._index.settings
        )


# marshal keeps exact builtin types only: a ``!replace`` mapping or sequence is stored as a tuple
# (a type no YAML value has) of a marker and its items, and rebuilt on the way out.
_DICT, _LIST = "d", "l"


def encode_blob(value: Any) -> bytes | None:
    """A parsed value as marshal bytes (None: a type marshal cannot hold)."""
    try:
        return marshal.dumps(value)
    except ValueError:  # !replace values (dict/list subclasses), or something unexpected
        try:
            return marshal.dumps((_DICT, _encode(value)))
        except ValueError:
            return None


def decode_blob(blob: bytes) -> Any:
    value = marshal.loads(blob)
    return _decode(value[1]) if type(value) is tuple else value


def _encode(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _encode(item) for key, item in value.items()}
    if kind is list:
        return [_encode(item) for item in value]
    if isinstance(value, ReplaceDict):
        return (_DICT, {key: _encode(item) for key, item in value.items()})
    if isinstance(value, ReplaceList):
        return (_LIST, [_encode(item) for item in value])
    return value


def _decode(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _decode(item) for key, item in value.items()}
    if kind is list:
        return [_decode(item) for item in value]
    if kind is tuple:
        items = _decode(value[1])
        return ReplaceDict(items) if value[0] == _DICT else ReplaceList(items)
    return value


def stat_key(result: os.stat_result) -> StatKey:
    return (result.st_mtime_ns, result.st_size, result.st_ino, result.st_ctime_ns)


def _now_ns() -> int:
    import time

    return time.time_ns()

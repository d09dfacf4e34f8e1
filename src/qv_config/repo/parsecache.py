"""The parse cache: values of loaded YAML files by content digest, under ``.qv/cache/``.

Warm runs skip YAML parsing for every file whose bytes are unchanged, and (work tree only) skip
even *reading* a file whose stat is unchanged: a stat index maps each path to
``(mtime_ns, size, inode, ctime_ns)`` and the content digest it had, as Git's index does.

Values are stored as one marshal blob each, so loading the cache file costs one read and a dict
of bytes objects; a value is decoded only when a document's data is actually used. The file holds
builtin types only, is keyed by the qv version and the YAML limits, is written atomically and
sealed (``repo.statefile``), and a missing, corrupt, foreign or unsealed file is simply ignored.
Deleting ``.qv/`` is always safe.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path
from typing import Any

from qv_config import __version__

# Re-exported: every cache writer imports these from here, and all of them must seal (statefile).
from qv_config.repo.statefile import ensure_state_dir, read_state_file, write_state_file
from qv_config.yamlio.types import ReplaceDict, ReplaceList

__all__ = [
    "ParseCache",
    "StatKey",
    "decode_blob",
    "encode_blob",
    "ensure_state_dir",
    "read_state_file",
    "stat_key",
    "write_state_file",
]

_FORMAT = f"qv-parse-2/{__version__}"
StatKey = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns
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
        blobs, stats = self._read(path) if path is not None else ({}, ("", {}))
        self._stats_settings: str = stats[0]
        self._old: dict[str, bytes] = blobs
        self._stats_old: dict[str, tuple[int, int, int, int, str]] = stats[1]
        self._used: dict[str, bytes] = {}
        self._pending: dict[str, Any] = {}  # new values, encoded at save time
        self._stats: dict[str, tuple[int, int, int, int, str]] = {}
        self.hits = 0
        self.misses = 0
        self.started_ns = _now_ns()

    @staticmethod
    def _read(path: Path) -> tuple[dict[str, bytes], tuple[str, dict[str, Any]]]:
        # Sealed: a parse.bin this user's qv did not write (committed, restored from another
        # machine's CI cache) could map a file's digest to any value, so it is never read.
        blob = read_state_file(path)
        try:
            raw = marshal.loads(blob) if blob is not None else None
        except (EOFError, ValueError, TypeError):
            return {}, ("", {})
        if type(raw) is not tuple or len(raw) != 4 or raw[0] != _FORMAT:
            return {}, ("", {})
        blobs, settings, stats = raw[1], raw[2], raw[3]
        if type(blobs) is not dict or type(settings) is not str or type(stats) is not dict:
            return {}, ("", {})
        return blobs, (settings, stats)

    def get(self, digest: str) -> Any | None:
        blob = self._old.get(digest)
        if blob is None:
            return self._pending.get(digest)
        try:
            value = decode_blob(blob)
        except (EOFError, ValueError, TypeError):
            return None
        self.hits += 1
        self._used[digest] = blob
        return value

    def has(self, digest: str) -> bool:
        return digest in self._old or digest in self._pending

    def keep(self, digest: str) -> None:
        """Keep an entry this run relies on without decoding it (a lazily loaded document)."""
        blob = self._old.get(digest)
        if blob is not None:
            self._used[digest] = blob

    def put(self, digest: str, value: Any) -> None:
        self.misses += 1
        self._pending[digest] = value

    def put_blob(self, digest: str, blob: bytes) -> None:
        """A value already encoded (by a worker process, see ``prefetch``)."""
        self.misses += 1
        self._used[digest] = blob

    def known_digest(self, path: str, stat: StatKey) -> str | None:
        """The digest of ``path`` when its stat is unchanged since a previous run (else None)."""
        entry = self._stats_old.get(path)
        if entry is None or entry[:4] != stat or self._stats_settings != self.settings:
            return None
        if not self.has(entry[4]):
            return None
        self._stats[path] = entry
        return entry[4]

    def remember(self, path: str, stat: StatKey, digest: str) -> None:
        """Record a file just read; skipped when its mtime is too recent to be trusted."""
        if stat[0] < self.started_ns - _RACY_NS:
            self._stats[path] = (*stat, digest)

    def save(self) -> None:
        """Keep what this run used (so the file tracks the tree and does not grow without end).

        Rewriting the whole file (~6 MB for 10,000 files, ~50 ms) is amortised: while the file on
        disk is behind the tree by at most ``_MAX_BEHIND`` files (edited, added or removed since
        it was written), it is left as it is. Those files are read and parsed again on the next
        run (~1 ms each): their old stat entries no longer match, so they are never trusted."""
        if self.path is None or self._unchanged():
            return
        if self._old and self._behind() <= _MAX_BEHIND:
            return
        blobs = dict(self._used)
        for digest, value in self._pending.items():
            blob = encode_blob(value)
            if blob is not None:
                blobs[digest] = blob
        stats = {path: entry for path, entry in self._stats.items() if entry[4] in blobs}
        write_state_file(self.path, marshal.dumps((_FORMAT, blobs, self.settings, stats)))

    def _behind(self) -> int:
        """Files the index on disk no longer vouches for, compared with what this run saw."""
        old, new = self._stats_old, self._stats
        if self.settings != self._stats_settings:
            return len(new) + len(old) + _MAX_BEHIND + 1  # other limits: nothing carries over
        changed = sum(1 for path, entry in new.items() if old.get(path) != entry)
        return changed + len(old.keys() - new.keys())

    def _unchanged(self) -> bool:
        return (
            not self._pending
            and not self.misses
            and self._used.keys() == self._old.keys()
            and self._stats == self._stats_old
            and self.settings == self._stats_settings
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

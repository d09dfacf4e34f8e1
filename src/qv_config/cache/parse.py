"""The parse memo: parsed YAML values by content digest, and a stat index (work tree only).

``parse.qvc`` holds one record per file value, named by the digest of the file's bytes (same
bytes, same value; only files that loaded cleanly, so every error is found and positioned
afresh) and ``qv.yaml``'s ``ProjectInfo`` by its digest. ``stat.qvc`` maps each path to
``(mtime_ns, size, inode, ctime_ns)`` and the digest the file had, as Git's index does: a file
whose stat is unchanged is not even read. A file changed less than 2 s before the run started
is never recorded (its next change may keep its stat: "racy" in Git's words), and an entry
counts only under the same YAML limits of ``qv.yaml`` and while its value is in ``parse.qvc``.

A Git revision's files come with Git's blob ids: ``stat.qvc`` also maps a blob id to the digest
of the blob's bytes (learnt when Git gave them), so a revision loaded again reads only the
blobs it has not met (ids computed by Git, which detects SHA-1 collision attacks; qv never
computes one itself).

``parse.qvc`` (~600 bytes a file) is rewritten only when more than ``_SLACK`` values are new or
unused: until then a few edited files are parsed again on each run (~1 ms each).
"""

from __future__ import annotations

import marshal
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.seal import sealer
from qv_config.yamlio.types import ReplaceDict, ReplaceList

StatKey = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns
_RACY_NS = 2_000_000_000
_SLACK = 32
_MAX_BLOBS = 250_000
_STAT = "stat"


class ParseMemo:
    """The parse memo of one run (``root`` None: nothing is read or written)."""

    def __init__(self, root: Path | None) -> None:
        folder = root / ".qv" / "cache" if root is not None else None
        self._paths = (folder / "parse.qvc", folder / "stat.qvc") if folder else None
        self._seal = sealer(root, "parse.qvc"), sealer(root, "stat.qvc")
        self._values = pack.Pack.open(self._paths[0], self._seal[0]) if self._paths else pack.Pack()
        self.settings = ""  # the YAML limits of qv.yaml, set once it is read
        self.complete = False  # this run loads the whole work tree (see save)
        self._old_settings, self.stats, self._digests, self._blobs = self._stat_index()
        self._new_stats: dict[str, StatKey] = {}
        self._new_digests: dict[str, str] = {}
        self._new_blobs: dict[str, str] = {}
        self._fresh: dict[str, bytes] = {}  # values encoded this run
        self._used: set[str] = set()  # old values this run relied on
        self.started_ns = time.time_ns()

    def _stat_index(self) -> tuple[str, dict[str, StatKey], dict[str, str], dict[str, str]]:
        blob = pack.read_one(self._paths[1], self._seal[1], _STAT) if self._paths else None
        if blob is None:
            return "", {}, {}, {}
        settings, stats, digests, blobs = marshal.loads(blob)
        return settings, stats, digests, blobs

    def known_blob(self, blob_id: str) -> str | None:
        """The digest of Git blob ``blob_id`` when a run read it and its value is kept."""
        digest = self._blobs.get(blob_id) if self.settings == self._old_settings else None
        if digest is None or digest not in self._values.numbers:
            return None
        self._new_blobs[blob_id] = digest
        self._used.add(digest)
        return digest

    def remember_blob(self, blob_id: str, digest: str) -> None:
        if blob_id:
            self._new_blobs[blob_id] = digest

    def known(self, stats: Mapping[str, StatKey | None]) -> dict[str, str]:
        """Path -> digest of each file whose stat is unchanged and whose value is kept."""
        if self.settings != self._old_settings:
            return {}
        old, digests, values = self.stats, self._digests, self._values.numbers
        same = [path for path, stat in stats.items() if old.get(path) == stat]
        found = {path: digest for path in same if (digest := digests[path]) in values}
        self._new_stats.update((path, old[path]) for path in found)
        self._new_digests.update(found)
        self._used.update(found.values())
        return found

    def value(self, digest: str) -> Any | None:
        blob = self._fresh.get(digest) or self._values.get(digest)
        if blob is None:
            return None
        self._used.add(digest)
        return decode(blob)

    def put(self, digest: str, blob: bytes) -> None:
        """Keep a value encoded (in memory, even when nothing is written: a document can then
        let go of its decoded value and get it back)."""
        if digest in self._values:
            self._used.add(digest)  # the run relies on it: a rewrite keeps it
        else:
            self._fresh[digest] = blob

    def put_value(self, digest: str, value: Any) -> None:
        blob = encode(value)
        if blob is not None:
            self.put(digest, blob)

    def remember(self, path: str, stat: StatKey, digest: str) -> None:
        """Record a file just read (not when changed too recently to be trusted)."""
        if stat[0] < self.started_ns - _RACY_NS:
            self._new_stats[path] = stat
            self._new_digests[path] = digest

    def save(self) -> None:
        if self._paths is None:
            return
        # Values no file of the tree uses any more are dropped only by a load of the whole work
        # tree (a revision's or one environment's load would drop the others' values).
        unused = len(self._values.numbers) - len(self._used & self._values.numbers.keys())
        unused = unused if self.complete else 0
        due = len(self._fresh) > _SLACK or unused > _SLACK or not self._values.numbers
        if due and (self._fresh or unused):
            self._rewrite_values()
        # Blob ids of other revisions stay (a sync or diff of another one comes next); the work
        # tree's stats are this run's.
        blobs = {**self._blobs, **self._new_blobs} if self._new_blobs else self._blobs
        if len(blobs) > _MAX_BLOBS:  # a bound: ids of the revisions loaded lately stay
            blobs = dict(self._new_blobs)
        new = (self.settings, self._new_stats or self.stats, self._new_digests or self._digests)
        if new != (self._old_settings, self.stats, self._digests) or blobs is not self._blobs:
            index = marshal.dumps((*new, blobs))
            pack.write(self._paths[1], self._seal[1], {_STAT: index})

    def _rewrite_values(self) -> None:
        assert self._paths is not None
        names = self._used if self.complete else self._values.numbers
        kept = {name: self._values.get(name) for name in names if name in self._values}
        records = {name: blob for name, blob in kept.items() if blob is not None}
        records.update(self._fresh)
        pack.write(self._paths[0], self._seal[0], records)


# marshal keeps exact builtin types only: a ``!replace`` mapping or list is stored as a tuple
# (a type no YAML value has) of a marker and its items, and rebuilt on the way out.
_DICT, _LIST = "d", "l"


def encode(value: Any) -> bytes | None:
    """A parsed value as bytes (None: a type that cannot be stored)."""
    try:
        return marshal.dumps(value)
    except ValueError:  # !replace values (dict/list subclasses), or something unexpected
        try:
            return marshal.dumps((_DICT, _encode(value)))
        except ValueError:
            return None


def decode(blob: bytes) -> Any:
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

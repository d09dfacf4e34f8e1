"""Parsed YAML values by content digest and YAML limits (``parse.qvc``: one record a file that
loaded cleanly, so errors are always found afresh; rewritten only when more than ``_SLACK``
values are new or unused), and Git blob id -> digest (``blobs.qvc``: ids computed by Git, counted
only under the same YAML limits), so a revision loaded again reads only the blobs it has not met.

A value is kept under the limits it loaded under (``settings``: qv.yaml's, or the defaults while
qv.yaml itself loads): the same bytes may be refused under stricter ones (QV105), so a value is
found only under the same limits — its name is the digest, plus a tag of the limits when they
are not the defaults (most projects: the digest alone, nothing more to hash or compare)."""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.pack import sealer
from qv_config.yamlio.types import Limits, ReplaceDict, ReplaceList

_SLACK = 32
DEFAULT_SETTINGS = repr(Limits())
_MAX_BLOBS = 250_000


class ParseMemo:
    """The parse memo of one run (``root`` None: nothing is read or written)."""

    def __init__(self, root: Path | None) -> None:
        folder = root / ".qv" / "cache" if root is not None else None
        self._paths = (folder / "parse.qvc", folder / "blobs.qvc") if folder else None
        self._seal = sealer(root, "parse.qvc"), sealer(root, "blobs.qvc")
        self._values = pack.Pack.open(self._paths[0], self._seal[0]) if self._paths else pack.Pack()
        self._stored = len(self._values) > 0  # (kept with _values)
        self._settings, self._tag = DEFAULT_SETTINGS, ""
        self.complete = False  # this run loads the whole work tree (see save)
        self._blobs: dict[str, str] | None = None  # read on first use
        self._old_settings = ""
        self._new_blobs: dict[str, str] = {}
        self._fresh: dict[str, bytes] = {}  # values encoded this run, not written yet
        self._held: dict[str, bytes] = {}  # written, and still in memory (``save(release=False)``)
        self._used: set[str] = set()  # old values this run relied on

    @property
    def settings(self) -> str:
        """The YAML limits values are loaded under now (``repr`` of a ``Limits``)."""
        return self._settings

    @settings.setter
    def settings(self, settings: str) -> None:
        self._settings = settings
        tag = hashlib.blake2b(settings.encode(), digest_size=6).hexdigest()
        self._tag = "" if settings == DEFAULT_SETTINGS else f"@{tag}"

    def _blob_map(self) -> dict[str, str]:
        if self._blobs is None:
            blob = pack.read_one(self._paths[1], self._seal[1], "blobs") if self._paths else None
            self._old_settings, self._blobs = marshal.loads(blob) if blob else ("", {})
        return self._blobs

    def has(self, digest: str) -> bool:
        """Whether the value of ``digest`` is kept (the run relies on it from now on)."""
        return bool(self.kept({digest: digest}))

    def kept(self, digests: dict[str, str]) -> dict[str, str]:
        """The entries of ``digests`` (path -> digest) whose value is kept (the run relies on
        them from now on)."""
        fresh, held, values, tag = self._fresh, self._held, self._values, self._tag
        if not tag:  # the default limits: named by the digest alone (no string made per value)
            found = {p: d for p, d in digests.items() if d in fresh or d in held or d in values}
            self._used.update(found.values())
            return found
        found = {
            p: d for p, d in digests.items() if (n := d + tag) in fresh or n in held or n in values
        }
        self._used.update(d + tag for d in found.values())
        return found

    def known_blobs(self, blobs: dict[str, str]) -> dict[str, str]:
        """``known_blob`` of each path -> Git blob id of ``blobs``: path -> digest of those
        known (asked at once: a revision's load asks of thousands)."""
        ids = self._blob_map()  # (first: it reads the settings they were kept under)
        ids = ids if self.settings == self._old_settings else {}
        found = {path: digest for path, blob in blobs.items() if (digest := ids.get(blob))}
        kept = self.kept(found) if found else found
        self._new_blobs.update((blobs[path], digest) for path, digest in kept.items())
        return kept

    def known_blob(self, blob_id: str) -> str | None:
        """The digest of Git blob ``blob_id`` when a run read it and its value is kept."""
        blobs = self._blob_map()
        digest = blobs.get(blob_id) if self.settings == self._old_settings else None
        if digest is None or not self.has(digest):
            return None
        self._new_blobs[blob_id] = digest
        return digest

    def remember_blob(self, blob_id: str, digest: str) -> None:
        if blob_id:
            self._new_blobs[blob_id] = digest

    def value(self, digest: str) -> Any | None:
        """The value of the file of ``digest`` loaded under the current ``settings``."""
        return self.fact(digest + self._tag)

    def reader(self) -> Callable[[str], Any | None]:
        """``value`` under the current ``settings``, whatever they are when it is called."""
        tag = self._tag  # (the default limits: the digest alone names a value)
        return self.fact if not tag else lambda digest: self.fact(digest + tag)

    def fact(self, name: str) -> Any | None:
        """A value kept under ``name`` whatever the settings (qv.yaml's info: ``put_fact``)."""
        blob = self._fresh.get(name) or self._held.get(name) or self._values.get(name)
        if blob is None:
            return None
        self._used.add(name)
        return decode(blob)

    def put(self, digest: str, blob: bytes) -> None:
        """Keep a value encoded (in memory, even when nothing is written: a document can then
        let go of its decoded value and get it back)."""
        self._put(digest + self._tag, blob)

    def _put(self, name: str, blob: bytes) -> None:
        if self._stored and name in self._values:  # (a first run: nothing stored)
            self._used.add(name)  # the run relies on it: a rewrite keeps it
        else:
            self._fresh[name] = blob

    def put_value(self, digest: str, value: Any) -> None:
        self.put_fact(digest + self._tag, value)

    def put_fact(self, name: str, value: Any) -> None:
        """Keep ``value`` under ``name`` whatever the settings (``name`` holds no ``@``)."""
        blob = encode(value)
        if blob is not None:
            self._put(name, blob)

    def save(self, release: bool = True) -> None:
        """Write what is new (again: only what is new since). ``release``: the values written
        leave memory, and are read from the file when used; else they stay (``qv sync`` saves
        while its render workers run, and workers forked meanwhile read them from memory)."""
        if self._paths is None:
            return
        # Values no file of the tree uses any more are dropped only by a load of the whole work
        # tree (a revision's or one environment's load would drop the others' values).
        values = self._values
        unused = len(values) - sum(1 for name in self._used if name in values)
        unused = unused if self.complete else 0
        due = len(self._fresh) > _SLACK or unused > _SLACK or not len(values)
        if due and (self._fresh or unused):
            self._rewrite_values(release)
        if self._new_blobs:
            self._save_blobs()

    def _save_blobs(self) -> None:
        assert self._paths is not None
        old = self._blob_map() if self.settings == self._old_settings else {}
        # Blob ids of other revisions stay (a sync or diff of another one comes next).
        blobs = {**old, **self._new_blobs}
        if len(blobs) > _MAX_BLOBS:  # a bound: ids of the revisions loaded lately stay
            blobs = dict(self._new_blobs)
        if blobs != old:
            blob = marshal.dumps((self.settings, blobs))
            if pack.write(self._paths[1], self._seal[1], {"blobs": blob}):
                self._blobs, self._old_settings, self._new_blobs = blobs, self.settings, {}

    def _rewrite_values(self, release: bool) -> None:
        assert self._paths is not None
        names = self._used if self.complete else self._values.names()
        kept = {name: self._values.get(name) for name in names if name in self._values}
        records = {name: blob for name, blob in kept.items() if blob is not None}
        records.update(self._held)
        records.update(self._fresh)
        if pack.write(self._paths[0], self._seal[0], records):
            # Read from the file from now on, on demand: the values of a cold load (30 MB at
            # 50,000 files) leave memory, and workers forked later do not copy them. Every
            # step leaves each value reachable (a worker may be forked at any of them).
            old, self._values = self._values, pack.Pack.open(self._paths[0], self._seal[0])
            self._stored = len(self._values) > 0
            old.close()
            self._held = {} if release else {**self._held, **self._fresh}
            self._fresh = {}


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

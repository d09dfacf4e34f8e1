"""The work tree as the last run listed it (``tree.qvc``), as Git's index: per file its stat
``(mtime_ns, size, inode, ctime_ns)`` and digest, packed (no object per file). An unchanged stat
vouches for the recorded digest under the same YAML limits (``settings``); a file changed less
than 2 s before the run is recorded as changed (racy); files that did not load cleanly or are
encrypted are read every run (``reread``). Beside it, ``qv validate``'s memo ids of the
environments checked from exactly this listing (``fresh``) and its summary (``validate.worktree``):
a listing saved with changes keeps an environment fresh only when no changed path is in its
folder or outside ``environments/``, and the summary only when nothing changed."""

from __future__ import annotations

import marshal
import time
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.pack import sealer

_FILE = "tree.qvc"
_RACY_NS = 2_000_000_000
_RACY = (0, -1, 0, 0)  # a stat no file has (size -1): the file counts as changed next run
_UNKNOWN = b"-" * 40  # the digest of a file not read
_EMPTY: tuple[Any, ...] = ("", "", (), "", b"", b"", [], {}, None)


@dataclass
class Changes:
    """The listing now against the last one: listed paths whose stats do not vouch for their
    bytes (new, changed, or racy last time), and paths gone."""

    restat: list[str]
    removed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # of ``restat``


class Tree:
    """The last listing of the work tree at ``root`` (None: nothing is read or kept), and this
    run's: ``compare`` it, let the loader ask what is ``vouched`` and record its ``reads``, then
    ``save``. Stored as few large objects (paths joined, stats and digests packed: 40 ASCII
    bytes a file), so that 50,000 files cost no object each to read, compare or write."""

    def __init__(self, root: Path | None) -> None:
        self._path = root / ".qv" / "cache" / _FILE if root is not None else None
        self._seal = sealer(root, _FILE)
        blob = pack.read_one(self._path, self._seal, "tree") if self._path else None
        state = marshal.loads(blob) if blob else _EMPTY
        self._state = state[:6]
        self.settings: str = state[0]
        self.project: str = state[1]  # qv.yaml's digest
        self.bases: Sequence[str] = state[2]  # of that qv.yaml
        self._joined: str = state[3]  # the paths, joined by NUL
        self._stats = array("q")
        self._stats.frombytes(state[4])
        self._digests: bytes = state[5]
        self._reread = set(state[6])
        self.fresh: dict[str, str] = state[7]
        self.summary: Any = state[8]
        self.started_ns = time.time_ns()
        self.listing: tuple[list[str], array[int]] | None = None  # this run's (``compare``)
        self.changes = Changes([])
        self._restat: set[str] = set()
        self._same = False  # this run lists the same paths in the same order
        self._old: dict[str, int] | None = None  # path -> its position in the last listing
        self._now: Callable[[], Mapping[str, int]] = dict
        # What this run read: path -> (digest, whether it loaded cleanly and unencrypted).
        self.reads: dict[str, tuple[str, bool]] = {}

    @property
    def enabled(self) -> bool:
        return self._seal is not None

    def compare(
        self, listing: tuple[list[str], array[int]], index: Callable[[], Mapping[str, int]]
    ) -> Changes:
        """Take this run's listing (paths in walk order, four stat integers a path; ``index``
        gives path -> position) and tell what differs from the last one."""
        self.listing, self._now = listing, index
        paths, stats = listing
        self._same = "\0".join(paths) == self._joined
        if self._same:  # the same files in the same order: compare the stats at once
            changes = Changes([paths[i] for i in _differing(stats, self._stats)])
        else:
            old = self._joined.split("\0") if self._joined else []
            it = iter(self._stats)
            before = dict(zip(old, zip(it, it, it, it, strict=True), strict=True))
            it = iter(stats)
            now = zip(paths, zip(it, it, it, it, strict=True), strict=True)
            restat = [path for path, stat in now if before.get(path) != stat]
            listed = index()
            removed = [path for path in old if path not in listed]
            changes = Changes(restat, removed, [path for path in restat if path not in before])
            self._old = dict(zip(old, range(len(old)), strict=True))
        self.changes, self._restat = changes, set(changes.restat)
        return changes

    def vouched(self, path: str, settings: str) -> str:
        """The digest of ``path`` when its stat is unchanged since a run loaded it cleanly under
        the same YAML limits (``settings``); "" otherwise."""
        return self.vouched_many((path,), settings).get(path, "")

    def vouched_many(self, paths: Iterable[str], settings: str) -> dict[str, str]:
        """``vouched`` of each of ``paths`` (those it vouches for), in one pass."""
        if self.listing is None or settings != self.settings:
            return {}
        index, digests = self._positions(), self._digests
        skip, out = self._restat | self._reread, {}
        for path in paths:
            at = index.get(path)
            if at is not None and path not in skip:
                digest = digests[40 * at : 40 * at + 40]
                if digest != _UNKNOWN:
                    out[path] = digest.decode()
        return out

    def rereads(self) -> set[str]:
        """Paths read on every run (they did not load cleanly, or are encrypted)."""
        return set(self._reread)

    def digest(self, path: str) -> str:
        """The digest the last listing recorded for ``path`` ("" when unknown)."""
        at = self._positions().get(path)
        digest = self._digests[40 * at : 40 * at + 40] if at is not None else _UNKNOWN
        return "" if digest == _UNKNOWN else digest.decode()

    def _positions(self) -> Mapping[str, int]:
        """Path -> its position in the last listing."""
        return self._now() if self._same else self._old or {}

    def save(
        self, settings: str, checked: Mapping[str, str] | None = None, summary: Any = None
    ) -> None:
        """Record this run's listing and reads (under YAML limits ``settings``). ``checked``:
        the environments ``qv validate`` checked against it (-> memo id) and its ``summary``;
        None: a listing saved by another command (see the module docstring)."""
        if self._path is None or self.listing is None:
            return
        paths, stats = self.listing
        index = self._now()
        digests = self._new_digests(paths, index)
        stats = array("q", stats)
        racy = self.started_ns - _RACY_NS
        for path in self._restat:
            at = index[path]
            if stats[4 * at] >= racy:
                stats[4 * at : 4 * at + 4] = array("q", _RACY)
        changed = self._changed(index, digests)
        fresh = self._carried(changed)
        if checked is not None:
            fresh.update(checked)
        else:
            summary = self.summary if changed == [] and settings == self.settings else None
        reread = self._new_reread(paths, settings)
        joined = self._joined if self._same else "\0".join(paths)
        state = (settings, self.project, tuple(self.bases), joined, stats.tobytes(), digests)
        if (state, set(reread), fresh, summary) == (
            self._state,
            self._reread,
            self.fresh,
            self.summary,
        ):
            return  # nothing new: the file stays as it is
        blob = marshal.dumps((*state, reread, fresh, summary))
        pack.write(self._path, self._seal, {"tree": blob})

    def _new_digests(self, paths: list[str], index: Mapping[str, int]) -> bytes:
        """The digest of each path now: the last one where the stat vouches, unknown where it
        does not and the file was not read, else what this run read."""
        if self._same:
            digests = bytearray(self._digests)
        else:
            old = self._old or {}
            digests = bytearray(_UNKNOWN * len(paths))
            for path, at in index.items():
                was = old.get(path)
                if was is not None:
                    digests[40 * at : 40 * at + 40] = self._digests[40 * was : 40 * was + 40]
        now = dict.fromkeys(self._restat, _UNKNOWN)
        now.update((path, digest.encode()) for path, (digest, _) in self.reads.items())
        for path, digest in now.items():
            if (where := index.get(path)) is not None:
                digests[40 * where : 40 * where + 40] = digest
        return bytes(digests)

    def _new_reread(self, paths: list[str], settings: str) -> list[str]:
        """Paths the loader must read next time: not loaded cleanly this run, or (other YAML
        limits) not read under these limits."""
        reads = self.reads
        if settings != self.settings:
            return [p for p in paths if not reads.get(p, ("", False))[1]]
        kept = [p for p in self._reread if p not in reads and p not in self._restat]
        return [*kept, *(p for p, (_, clean) in reads.items() if not clean)]

    def _changed(self, index: Mapping[str, int], digests: bytes) -> list[str] | None:
        """The paths whose bytes changed or may have (None: paths were added or removed)."""
        if not self._same:
            return None
        old, out = self._digests, []
        for path in self._restat:
            at = 40 * index[path]
            now = digests[at : at + 40]
            if now == _UNKNOWN or now != old[at : at + 40]:
                out.append(path)
        return out

    def _carried(self, changed: list[str] | None) -> dict[str, str]:
        """The environments still fresh: no path changed in their folder or outside
        ``environments/`` (and none was added or removed)."""
        if changed is None or any(not p.startswith("environments/") for p in changed):
            return {}
        touched = {p.split("/", 2)[1] for p in changed}
        return {env: rid for env, rid in self.fresh.items() if env not in touched}


def _differing(new: array[int], old: array[int]) -> list[int]:
    """Positions of the files whose stats differ, for two arrays of the same length: halves
    compared at once (memcmp), only differing halves split again."""
    if new == old:
        return []
    if len(new) != len(old):
        return list(range(len(new) // 4))
    out: list[int] = []
    todo = [(0, len(new) // 4)]
    while todo:
        lo, hi = todo.pop()
        if new[4 * lo : 4 * hi] == old[4 * lo : 4 * hi]:
            continue
        if hi - lo == 1:
            out.append(lo)
        else:
            mid = (lo + hi) // 2
            todo += [(mid, hi), (lo, mid)]
    return sorted(out)

"""Whole ``qv validate`` results by the stat of every file of the work tree (``runs.qvc``).

A run over an unchanged tree should cost what changed: nothing. Its key is a digest of qv.yaml's
bytes, the options (environments, paths), today's date and the ``(mtime_ns, size, inode,
ctime_ns)`` of every file the walk lists, as Git's index trusts a stat; a hit answers without
reading, parsing or rendering anything. Only runs whose files are all older than 2 s (no "racy"
stat: a file changed again within its clock's granularity keeps its stat), that read no
encrypted file (their checks depend on the key at hand) are kept; a hit still checks the digest
of every schema file read outside the listed folders. The last few results are kept, and the
``bases`` of each qv.yaml (the walk needs them before anything is parsed).
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.results import rules_code_hash
from qv_config.cache.seal import sealer

_FILE = "runs.qvc"
_KEEP = 8
_RACY_NS = 2_000_000_000
Row = tuple[Any, ...]  # finding rows, errors, warnings, environments, files, documents, checks


class Runs:
    """The kept results of the project at ``root`` (None: none are read or kept)."""

    def __init__(self, root: Path | None) -> None:
        self._path = root / ".qv" / "cache" / _FILE if root is not None else None
        self._seal = sealer(root, _FILE, rules_code_hash()) if root is not None else None
        blob = pack.read_one(self._path, self._seal, "runs") if self._path else None
        self._bases, self._rows, self._reads = marshal.loads(blob) if blob else ({}, {}, {})

    @property
    def enabled(self) -> bool:
        return self._seal is not None

    def bases(self, project: str) -> tuple[str, ...] | None:
        """The ``bases`` of the qv.yaml of digest ``project``, when a run met it."""
        found = self._bases.get(project)
        return tuple(found) if found is not None else None

    def get(self, key: str) -> tuple[Row, dict[str, str]] | None:
        """The result kept for ``key`` and the schema files (path -> digest) it read."""
        row = self._rows.get(key)
        return (row, self._reads.get(key, {})) if row is not None else None

    def put(
        self, key: str, project: str, bases: tuple[str, ...], row: Row, reads: Mapping[str, str]
    ) -> None:
        if self._path is None:
            return
        self._bases = {project: list(bases)}
        rows = {k: v for k, v in list(self._rows.items())[-(_KEEP - 1) :] if k != key}
        rows[key] = row
        self._reads = {k: self._reads.get(k, {}) for k in rows} | {key: dict(reads)}
        self._rows = rows
        blob = marshal.dumps((self._bases, self._rows, self._reads))
        pack.write(self._path, self._seal, {"runs": blob})


def tree_key(parts: tuple[Any, ...], stats: dict[str, tuple[int, int, int, int]]) -> str | None:
    """The key of a run over files of ``stats`` with options ``parts``; None when a file
    changed less than 2 s ago (its stat cannot vouch for its bytes yet)."""
    import time
    from operator import itemgetter

    # As Git's racy rule: a file changed again in the tick of its last change keeps its mtime
    # (and its ctime, which a changed mtime set back to the old value would move).
    newest = max(map(itemgetter(0), stats.values()), default=0)
    if newest >= time.time_ns() - _RACY_NS:
        return None
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=20)
    digest.update(marshal.dumps(stats))
    return digest.hexdigest()

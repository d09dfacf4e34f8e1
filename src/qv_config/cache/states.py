"""Rendered environments by *input key* (the Git tree ids of everything an environment renders
from: ``repo.history``): equal keys mean an equal effective configuration, whatever the commit.

Two uses, one file per (environment, input key) each: ``render/`` keeps rendered documents for
``qv diff``, ``log`` and ``review`` walking history; ``desired/`` keeps the per-key sha256 and
digest of a desired state for ``qv drift`` and ``sync`` (the most recently used ``keep`` files
stay). Environments rendered from SOPS-encrypted files are never kept by the callers.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.seal import sealer


class StateMemo:
    """Plain data by (environment, input key) in ``.qv/cache/<kind>/`` of the project ``root``
    (None: nothing is kept)."""

    def __init__(self, root: Path | None, kind: str, keep: int | None = None) -> None:
        self._root = root
        self._kind = kind
        self._keep = keep

    def _file(self, env: str, key: str) -> str:
        digest = hashlib.blake2b(f"{env}\0{key}".encode(), digest_size=16).hexdigest()
        return f"{self._kind}/{digest}.qvc"

    def get(self, env: str, key: str) -> Any | None:
        if self._root is None:
            return None
        name = self._file(env, key)
        path = self._root / ".qv" / "cache" / name
        blob = pack.read_one(path, sealer(self._root, name), "state")
        if blob is None:
            return None
        if self._keep is not None:  # the most recently *used* stay (the deployed state's)
            with contextlib.suppress(OSError):
                os.utime(path)
        return marshal.loads(blob)

    def put(self, env: str, key: str, value: Any) -> bool:
        """Keep ``value``; False when it could not be (not plain data, or no cache)."""
        if self._root is None:
            return False
        try:
            blob = marshal.dumps(value)
        except ValueError:  # a value of an unexpected type: not kept rather than fail
            return False
        name = self._file(env, key)
        path = self._root / ".qv" / "cache" / name
        written = pack.write(path, sealer(self._root, name), {"state": blob})
        if written and self._keep is not None:
            _prune(path.parent, self._keep)
        return written


def _prune(folder: Path, keep: int) -> None:
    try:
        entries = sorted(folder.glob("*.qvc"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another qv pruned at the same time: nothing to do

"""The parse cache: values of loaded YAML files by content digest, under ``.qv/cache/``.

Warm runs skip YAML parsing for every file whose bytes are unchanged. The file holds builtin
types only (marshal: the fastest loader of plain data in the standard library); it is keyed by
the qv version, written atomically, and a missing, corrupt or foreign file is simply ignored.
Deleting ``.qv/`` is always safe.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from pathlib import Path
from typing import Any

from qv_config import __version__

_FORMAT = f"qv-parse-1/{__version__}"


class ParseCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._old: dict[str, Any] = self._read(path) if path is not None else {}
        self._used: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        try:
            raw = marshal.loads(path.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if type(raw) is not tuple or len(raw) != 2 or raw[0] != _FORMAT:
            return {}
        entries = raw[1]
        return entries if type(entries) is dict else {}

    def get(self, digest: str) -> Any | None:
        value = self._old.get(digest)
        if value is not None:
            self.hits += 1
            self._used[digest] = value
        return value

    def put(self, digest: str, value: Any) -> None:
        self.misses += 1
        self._used[digest] = value

    def save(self) -> None:
        """Keep what this run used (so the file tracks the tree and does not grow without end)."""
        if self.path is None or (self.misses == 0 and len(self._used) == len(self._old)):
            return
        try:
            blob = marshal.dumps((_FORMAT, self._used))
        except ValueError:  # an unexpected type slipped in: skip caching rather than fail
            return
        _atomic_write(self.path, blob)


def ensure_state_dir(folder: Path) -> None:
    """Create ``.qv/...`` so that it ignores itself in Git (as .pytest_cache does)."""
    folder.mkdir(parents=True, exist_ok=True)
    top = next((p for p in (folder, *folder.parents) if p.name == ".qv"), None)
    marker = top / ".gitignore" if top is not None else None
    if marker is not None and not marker.exists():
        marker.write_text("# created by qv: caches and local state, safe to delete\n*\n")


def _atomic_write(path: Path, blob: bytes) -> None:
    try:
        ensure_state_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".parse-")
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only checkout still works, only slower

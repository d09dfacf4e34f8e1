"""Rendered environments on disk, keyed by environment and *input key* (``repo.history``).

An input key is made of the Git tree ids of everything an environment renders from, so equal
keys mean equal effective configuration whatever the commit: ``qv log`` and ``qv review`` walk
history without rendering again what did not change, across runs too. One small file per
(environment, key) under ``.qv/cache/render/`` holds the rendered documents (marshal: builtin
values only, the fastest loader of plain data) and, for a state that does not validate, the
reason. Files are sealed (``repo.statefile``): a missing, corrupt, foreign or unsealed file is a
miss; deleting ``.qv/`` is always safe.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config import __version__
from qv_config.repo.statefile import read_state_file, write_state_file

_FORMAT = f"qv-render-1/{__version__}"


@dataclass(frozen=True)
class CachedState:
    """A rendered environment: ``kind-slug/name`` -> document, or why the state is invalid."""

    refs: Mapping[str, Mapping[str, Any]]
    problem: str = ""


class RenderCache:
    def __init__(self, root: Path | None) -> None:
        self.folder = root / ".qv" / "cache" / "render" if root is not None else None

    def _path(self, env: str, key: str) -> Path | None:
        if self.folder is None:
            return None
        digest = hashlib.blake2b(f"{env}\0{key}".encode(), digest_size=16).hexdigest()
        return self.folder / f"{digest}.bin"

    def get(self, env: str, key: str) -> CachedState | None:
        path = self._path(env, key)
        if path is None:
            return None
        # Sealed (repo.statefile): rendered states decide what diff and log show, so a file this
        # user's qv did not write (committed, from another machine's CI cache) is a miss.
        blob = read_state_file(path)
        try:
            raw = marshal.loads(blob) if blob is not None else None
        except (EOFError, ValueError, TypeError):
            return None
        if type(raw) is not tuple or len(raw) != 4 or raw[0] != _FORMAT or raw[1] != key:
            return None
        return CachedState(raw[3], raw[2])

    def put(self, env: str, key: str, state: CachedState) -> None:
        path = self._path(env, key)
        if path is None:
            return
        try:
            blob = marshal.dumps((_FORMAT, key, state.problem, dict(state.refs)))
        except ValueError:  # a value of an unexpected type: skip caching rather than fail
            return
        write_state_file(path, blob)

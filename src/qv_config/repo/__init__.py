"""Finding the project, listing and reading its files (work tree or Git revision), loading
snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qv_config.repo.root import find_root
from qv_config.repo.source import Source, WorkTreeSource

if TYPE_CHECKING:
    from qv_config.repo.git import GitSource
    from qv_config.repo.snapshot import load_snapshot
    from qv_config.repo.types import EnvFiles, Snapshot

# Imported on first use: Git (with subprocess) by the commands that read a revision only; the
# loader (the parse cache, the YAML loader) by runs that load files, not by a warm
# ``qv validate`` that finds its result kept (~5 ms of its imports).
_LAZY = {
    "GitSource": "qv_config.repo.git",
    "load_snapshot": "qv_config.repo.snapshot",
    "EnvFiles": "qv_config.repo.types",
    "Snapshot": "qv_config.repo.types",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "EnvFiles",
    "GitSource",
    "Snapshot",
    "Source",
    "WorkTreeSource",
    "find_root",
    "load_snapshot",
]

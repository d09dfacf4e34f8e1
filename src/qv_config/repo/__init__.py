"""Finding the project, listing and reading its files (work tree or Git revision), loading
snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qv_config.repo.root import find_root
from qv_config.repo.snapshot import load_snapshot
from qv_config.repo.source import Source, WorkTreeSource
from qv_config.repo.types import EnvFiles, Snapshot

if TYPE_CHECKING:
    from qv_config.repo.git import GitSource


def __getattr__(name: str) -> Any:
    # Git is imported (with subprocess) by the commands that read a revision only.
    if name == "GitSource":
        from qv_config.repo.git import GitSource

        return GitSource
    raise AttributeError(name)


__all__ = [
    "EnvFiles",
    "GitSource",
    "Snapshot",
    "Source",
    "WorkTreeSource",
    "find_root",
    "load_snapshot",
]

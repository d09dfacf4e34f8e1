"""Finding the project, listing and reading its files (work tree or Git revision), loading
snapshots."""

from qv_config.repo.git import GitSource
from qv_config.repo.root import find_root
from qv_config.repo.snapshot import load_snapshot
from qv_config.repo.source import Source, WorkTreeSource
from qv_config.repo.types import EnvFiles, Snapshot

__all__ = [
    "EnvFiles",
    "GitSource",
    "Snapshot",
    "Source",
    "WorkTreeSource",
    "find_root",
    "load_snapshot",
]

"""Where a snapshot's files come from: the work tree (or, see ``git.py``, a Git revision)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Top-level folders qv reads besides the configured bases.
_FIXED_DIRS = ("templates", "environments", "schemas", "policy")


class Source(Protocol):
    """A repository state: the files qv reads, their content hashes, and their bytes."""

    root: Path
    label: str
    revision: str | None

    def list_files(self, bases: list[str]) -> dict[str, str]:
        """Repo-relative POSIX path -> content hash, for qv.yaml and every qv folder."""
        ...

    def read(self, path: str) -> bytes | None: ...


@dataclass
class WorkTreeSource:
    root: Path
    label: str = "work tree"
    revision: str | None = None
    # Stats taken while listing (scandir): the loader's first ``stat`` of a file takes its entry
    # instead of a second path lookup (~3 µs a file, on every warm run of 10,000 files).
    _walked: dict[str, tuple[int, int, int, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def list_files(self, bases: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        if (self.root / "qv.yaml").is_file():
            out["qv.yaml"] = ""
        for top in (*_FIXED_DIRS, *bases):
            self._walk(self.root / top, top, out)
        # Hashing is deferred to the loader's stat-keyed cache; "" means "hash on read".
        return out

    def _walk(self, folder: Path, rel: str, out: dict[str, str]) -> None:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            child = f"{rel}/{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                self._walk(Path(entry.path), child, out)
            elif entry.is_file():
                out[child] = ""
                st = entry.stat()
                self._walked[child] = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)

    def stat(self, path: str) -> tuple[int, int, int, int] | None:
        """``(mtime_ns, size, inode, ctime_ns)`` of a file: unchanged means its bytes are too,
        as Git's index assumes (the parse cache guards against "racy" recent edits)."""
        walked = self._walked.pop(path, None)
        if walked is not None:
            return walked
        if not is_inside(path):
            return None
        try:
            st = os.stat(f"{self.root}/{path}")
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)

    def read(self, path: str) -> bytes | None:
        # Plain string paths and open(): pathlib costs ~25 µs a file, most of a small file's read.
        if not is_inside(path):
            return None
        try:
            with open(f"{self.root}/{path}", "rb") as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None


def is_inside(path: str) -> bool:
    """A repository-relative path that cannot leave the repository (``metadata.schema`` paths
    come from documents)."""
    return bool(path) and not path.startswith("/") and ".." not in path.split("/")


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()

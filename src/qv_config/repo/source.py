"""Where a snapshot's files come from: the work tree (or, see ``git.py``, a Git revision)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Top-level folders qv reads besides the configured bases.
_FIXED_DIRS = ("templates", "environments", "schemas", "policy")
# A directory opened only to list it; a symlinked folder is still followed as before (open).
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)


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
    _listed: tuple[list[str], dict[str, str], dict[str, tuple[int, int, int, int]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def list_files(self, bases: list[str]) -> dict[str, str]:
        listed = self._listed
        if listed is not None and listed[0] == bases:  # walked already by this run
            return dict(listed[1])
        out: dict[str, str] = {}
        if (self.root / "qv.yaml").is_file():
            out["qv.yaml"] = ""
        walk = self._walk_at if os.scandir in os.supports_fd else self._walk
        for top in (*_FIXED_DIRS, *bases):
            walk(f"{self.root}/{top}", top, out)
        # Hashing is deferred to the loader's stat-keyed cache; "" means "hash on read".
        self._listed = (list(bases), out, dict(self._walked))
        return dict(out)

    def walk_stats(self) -> dict[str, tuple[int, int, int, int]]:
        """The stat of every file the last ``list_files`` listed (``cache.runs``: the whole
        tree's key), as the walk took them."""
        return dict(self._listed[2]) if self._listed is not None else {}

    def _walk_at(self, folder: str, rel: str, out: dict[str, str], at: int | None = None) -> None:
        """The walk by directory descriptors: each entry's stat is an ``fstatat`` of its bare
        name, not a lookup of its whole path again (~25 % of a warm run's 10,000 stats)."""
        try:
            fd = os.open(folder, _DIR_FLAGS, dir_fd=at)
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError:
            raise _unreadable(rel) from None
        try:
            with os.scandir(fd) as entries:
                subdirs = self._entries(entries, rel, out)
            for name in subdirs:
                self._walk_at(name, f"{rel}/{name}", out, fd)
        finally:
            os.close(fd)

    def _entries(
        self, entries: Iterator[os.DirEntry[str]], rel: str, out: dict[str, str]
    ) -> list[str]:
        subdirs = []
        walked = self._walked
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(name)
            elif entry.is_file():
                child = f"{rel}/{name}"
                try:
                    st = entry.stat()
                except FileNotFoundError:  # removed while listing: as if listed a moment later
                    continue
                out[child] = ""
                walked[child] = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        return subdirs

    def _walk(self, folder: str, rel: str, out: dict[str, str]) -> None:
        """The portable walk (platforms without ``scandir`` of a descriptor)."""
        try:
            with os.scandir(folder) as entries:
                subdirs = self._entries(entries, rel, out)
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError:
            raise _unreadable(rel) from None
        for name in subdirs:
            self._walk(f"{folder}/{name}", f"{rel}/{name}", out)

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


def _unreadable(rel: str) -> Exception:
    from qv_config.errors import OperationalError

    return OperationalError(
        f"cannot list {rel}/: permission denied",
        hint="give your user read access to the folder (qv reads every file under it)",
    )


def is_inside(path: str) -> bool:
    """A repository-relative path that cannot leave the repository (``metadata.schema`` paths
    come from documents)."""
    return bool(path) and not path.startswith("/") and ".." not in path.split("/")


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()

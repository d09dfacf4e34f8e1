"""Where a snapshot's files come from: the work tree (or, see ``git.py``, a Git revision)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_kind
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from qv_config.repo import files
from qv_config.repo.files import Kind, Refused

# Top-level folders qv reads besides the configured bases.
_FIXED_DIRS = ("templates", "environments", "schemas", "policy")
# A directory opened only to list it, never through a link (the rule follows no folder link).
_DIR_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOFOLLOW", 0)
)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def tops(bases: Iterable[str]) -> list[str]:
    """What a whole snapshot lists: qv.yaml, .sops.yaml (listed so that a link there is
    reported too), the fixed folders and the bases folders."""
    return ["qv.yaml", ".sops.yaml", *_FIXED_DIRS, *bases]


class Source(Protocol):
    """A repository state: the files qv reads, their content hashes, and their bytes.

    Every listing and read applies the rule of ``repo.files``; what it refuses is in
    ``problems`` (by the path in the tree), never read."""

    root: Path
    label: str
    revision: str | None
    problems: dict[str, Refused]

    def list_files(self, bases: list[str]) -> dict[str, str]:
        """Repo-relative POSIX path -> content hash, for qv.yaml and every qv folder."""
        ...

    def read(self, path: str) -> bytes | None: ...


def _open_nofollow(path: str, flags: int) -> int:
    return os.open(path, flags | _NOFOLLOW)


@dataclass
class WorkTreeSource:
    root: Path
    label: str = "work tree"
    revision: str | None = None
    problems: dict[str, Refused] = field(default_factory=dict, repr=False, compare=False)
    # Stats taken while listing (scandir): the loader's first ``stat`` of a file takes its entry
    # instead of a second path lookup (~3 µs a file, on every warm run of 10,000 files).
    _walked: dict[str, tuple[int, int, int, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # Listed regular files (read without resolving again) and listed links -> the file read.
    _plain: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _links: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _listed: tuple[list[str], dict[str, str], dict[str, tuple[int, int, int, int]]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def list_files(self, bases: list[str]) -> dict[str, str]:
        listed = self._listed
        if listed is not None and listed[0] == bases:  # walked already by this run
            return dict(listed[1])
        # Hashing is deferred to the loader's stat-keyed cache; "" means "hash on read".
        out = self.list_paths(tops(bases))
        self._listed = (list(bases), out, dict(self._walked))
        return dict(out)

    def walk_stats(self) -> dict[str, tuple[int, int, int, int]]:
        """The stat of every file the last ``list_files`` listed (``cache.runs``: the whole
        tree's key), as the walk took them."""
        return dict(self._listed[2]) if self._listed is not None else {}

    def list_paths(self, paths: Iterable[str]) -> dict[str, str]:
        """The files at or under ``paths`` (files or folders), by the rule of ``repo.files``."""
        out: dict[str, str] = {}
        walk = self._walk_at if os.scandir in os.supports_fd else self._walk
        for top in paths:
            found = self._locate(top)
            if found is None:
                continue
            kind, real = found
            if kind == "dir":
                walk(f"{self.root}/{top}", top, out)
            elif kind == "file":
                self._add(top, real, out)
        return out

    def locate(self, path: str) -> tuple[Kind, str] | Refused:
        """The rule on ``path`` (nothing recorded): (kind, real path) or why it is refused."""
        return files.locate(path, self._lookup)

    def _locate(self, path: str) -> tuple[Kind, str] | None:
        return files.checked(path, self._lookup, self.problems)

    def _lookup(self, path: str) -> tuple[Kind, str]:
        full = f"{self.root}/{path}"
        try:
            mode = os.lstat(full).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return "missing", ""
        if stat_kind.S_ISLNK(mode):
            return "link", os.readlink(full)
        if stat_kind.S_ISDIR(mode):
            return "dir", ""
        return ("file" if stat_kind.S_ISREG(mode) else "other"), ""

    def _add(self, path: str, real: str, out: dict[str, str]) -> None:
        if real == path:
            self._plain.add(path)
            return self._add_stat(path, path, out)
        self._links[path] = real
        self._add_stat(path, real, out)

    def _add_stat(self, path: str, real: str, out: dict[str, str]) -> None:
        try:
            st = os.stat(f"{self.root}/{real}", follow_symlinks=False)
        except FileNotFoundError:  # removed while listing: as if listed a moment later
            return
        out[path] = ""
        self._walked[path] = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)

    def _walk_at(self, folder: str, rel: str, out: dict[str, str], at: int | None = None) -> None:
        """The walk by directory descriptors: each entry's stat is an ``fstatat`` of its bare
        name, not a lookup of its whole path again (~25 % of a warm run's 10,000 stats)."""
        try:
            fd = os.open(folder, _DIR_FLAGS, dir_fd=at)
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError:
            raise _unreadable(rel) from None
        except OSError as err:  # ELOOP: turned into a link since it was looked at
            if err.errno == errno.ELOOP:
                return
            raise
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
        walked, plain = self._walked, self._plain
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            child = f"{rel}/{name}"
            if not name.isprintable() and (reason := files.name_problem(name)) is not None:
                self.problems.setdefault(child, Refused(child, files.NAME_CODE, reason))
            elif entry.is_dir(follow_symlinks=False):
                subdirs.append(name)
            elif entry.is_file(follow_symlinks=False):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:  # removed while listing: as if listed a moment later
                    continue
                out[child] = ""
                plain.add(child)
                walked[child] = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
            elif entry.is_symlink() and (found := self._locate(child)) is not None:
                self._add(child, found[1], out)
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

    def _real(self, path: str) -> str | None:
        """The file ``path`` reads: itself, a listed link's target, or the rule's answer."""
        if path in self._plain:
            return path
        link = self._links.get(path)
        if link is not None:
            return link
        if not files.readable_name(path):
            return None
        found = self._locate(path)
        return found[1] if found is not None and found[0] == "file" else None

    def stat(self, path: str) -> tuple[int, int, int, int] | None:
        """``(mtime_ns, size, inode, ctime_ns)`` of a file: unchanged means its bytes are too,
        as Git's index assumes (the parse cache guards against "racy" recent edits)."""
        walked = self._walked.pop(path, None)
        if walked is not None:
            return walked
        real = self._real(path)
        if real is None:
            return None
        try:
            st = os.stat(f"{self.root}/{real}", follow_symlinks=False)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)

    def read(self, path: str) -> bytes | None:
        # Plain string paths and open(): pathlib costs ~25 µs a file, most of a small file's read.
        real = self._real(path)
        if real is None:
            return None
        try:
            with open(f"{self.root}/{real}", "rb", opener=_open_nofollow) as handle:
                return handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as err:  # ELOOP: replaced by a link since it was listed
            if err.errno == errno.ELOOP:
                return None
            raise

    def read_strict(self, path: str) -> bytes | None:
        """``read``, but a file the rule refuses raises ``RefusedFile`` instead of None."""
        return strict_read(self, path)


def strict_read(source: Source, path: str) -> bytes | None:
    """``source.read(path)``; raises ``files.RefusedFile`` when the rule refused the path."""
    data = source.read(path)
    if data is None:
        refused = files.bad_name(path) or _refusal(source, path)
        if refused is not None:
            raise files.RefusedFile(refused)
    return data


def _refusal(source: Source, path: str) -> Refused | None:
    problems = source.problems
    return next(
        (r for key, r in problems.items() if path == key or path.startswith(f"{key}/")), None
    )


def _unreadable(rel: str) -> Exception:
    from qv_config.errors import OperationalError

    return OperationalError(
        f"cannot list {rel}/: permission denied",
        hint="give your user read access to the folder (qv reads every file under it)",
    )


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()

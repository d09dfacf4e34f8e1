"""Where a snapshot's files come from: the work tree (or, see ``git.py``, a Git revision)."""

from __future__ import annotations

import errno
import hashlib
import os
import stat as stat_kind
from array import array
from collections.abc import Iterable
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


StatKey = tuple[int, int, int, int]  # mtime_ns, size, inode, ctime_ns


@dataclass
class WorkTreeSource:
    root: Path
    label: str = "work tree"
    revision: str | None = None
    problems: dict[str, Refused] = field(default_factory=dict, repr=False, compare=False)
    # The last listing in walk order: each path and its stat, four integers a file
    # ``(mtime_ns, size, inode, ctime_ns)`` in one array (no tuple per file: a warm run
    # compares the whole array with the last run's at once, ``cache.tree``).
    _paths: list[str] = field(default_factory=list, init=False, repr=False, compare=False)
    _stats: array[int] = field(
        default_factory=lambda: array("q"), init=False, repr=False, compare=False
    )
    # Listed links -> the file each reads; listed paths -> their position (on first need).
    _links: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)
    _index: dict[str, int] | None = field(default=None, init=False, repr=False, compare=False)
    _bases: list[str] | None = field(default=None, init=False, repr=False, compare=False)
    _tops: dict[str, tuple[int, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )  # top-level path -> the range of the listing under it

    def list_files(self, bases: list[str]) -> dict[str, str]:
        # Hashing is deferred to the loader's stat-keyed cache; "" means "hash on read".
        self.walk(bases)
        return dict.fromkeys(self._paths, "")

    def walk(self, bases: list[str]) -> None:
        """``list_files`` without its answer (read it with ``listing``): a warm run compares
        the listing as it is (a dict of 50,000 paths is ~3 ms it need not build)."""
        if self._bases != bases:  # not walked already by this run
            self._paths, self._stats, self._links, self._index = [], array("q"), {}, None
            self._tops = {}
            self._walk_tops(tops(bases))
            self._bases = list(bases)

    def listing(self) -> tuple[list[str], array[int]]:
        """The last ``list_files``: paths in walk order, and their stats (four a file)."""
        return self._paths, self._stats

    def under(self, top: str) -> list[str]:
        """The listed paths under the top-level folder ``top`` (no search of the listing)."""
        start, end = self._tops.get(top, (0, 0))
        return self._paths[start:end]

    def listed(self, path: str) -> bool:
        """Whether the last ``list_files`` listed ``path``."""
        return path in self.index()

    def index(self) -> dict[str, int]:
        """The last listing's paths -> their position (built on first need)."""
        if self._index is None:
            self._index = dict(zip(self._paths, range(len(self._paths)), strict=True))
        return self._index

    def walk_stats(self) -> dict[str, StatKey]:
        """The stat of every file the last ``list_files`` listed, as the walk took them."""
        it = iter(self._stats)
        return dict(zip(self._paths, zip(it, it, it, it, strict=True), strict=True))

    def list_paths(self, paths: Iterable[str]) -> dict[str, str]:
        """The files at or under ``paths`` (files or folders), by the rule of ``repo.files``
        (the last ``list_files`` is kept as it was)."""
        before, tops_before = len(self._paths), dict(self._tops)
        self._walk_tops(paths)
        added = self._paths[before:]
        del self._paths[before:], self._stats[4 * before :]
        self._index, self._tops = None, tops_before
        return dict.fromkeys(added, "")

    def _walk_tops(self, paths: Iterable[str]) -> None:
        walk = self._walk_at if os.listdir in os.supports_fd else self._walk
        done: list[str] = []
        for top in paths:
            if any(top == d or top.startswith(f"{d}/") for d in done):
                continue  # listed already (a bases folder inside another): once each
            done.append(top)
            found = self._locate(top)
            if found is None:
                continue
            kind, real = found
            start = len(self._paths)
            if kind == "dir":
                walk(f"{self.root}/{top}", top)
            elif kind == "file":
                self._add(top, real)
            self._tops[top] = (start, len(self._paths))

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

    def _add(self, path: str, real: str) -> None:
        try:
            st = os.stat(f"{self.root}/{real}", follow_symlinks=False)
        except FileNotFoundError:  # removed while listing: as if listed a moment later
            return
        if real != path:
            self._links[path] = real
        self._paths.append(path)
        self._stats.extend((st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns))

    def _walk_at(self, folder: str, rel: str, at: int | None = None) -> None:
        """The walk by directory descriptors: names listed (``listdir``: no object per entry),
        each one's stat an ``fstatat`` of its bare name, not a lookup of its whole path again
        (together ~20 % of the walk of 50,000 files)."""
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
            subdirs = self._entries(os.listdir(fd), rel, fd)
            for name in subdirs:
                self._walk_at(name, f"{rel}/{name}", fd)
        finally:
            os.close(fd)

    def _entries(self, names: list[str], rel: str, fd: int | None, folder: str = "") -> list[str]:
        """Sort the ``names`` of folder ``rel`` (opened as ``fd``, else at path ``folder``)."""
        subdirs = []
        prefix, stat = f"{rel}/", os.stat
        add_path, add_stat = self._paths.append, self._stats.extend  # ~50,000 calls each
        for name in names:
            if name.startswith("."):
                continue
            if not name.isprintable() and (reason := files.name_problem(name)) is not None:
                child = prefix + name
                self.problems.setdefault(child, Refused(child, files.NAME_CODE, reason))
                continue
            try:
                st = stat(folder + name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:  # removed while listing: as if listed a moment later
                continue
            mode = st.st_mode
            if _is_file(mode):
                add_path(prefix + name)
                add_stat((st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns))
            elif _is_dir(mode):
                subdirs.append(name)
            elif _is_link(mode) and (found := self._locate(prefix + name)) is not None:
                self._add(prefix + name, found[1])
        return subdirs

    def _walk(self, folder: str, rel: str) -> None:
        """The portable walk (platforms without ``listdir`` of a descriptor)."""
        try:
            subdirs = self._entries(os.listdir(folder), rel, None, f"{folder}/")
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError:
            raise _unreadable(rel) from None
        for name in subdirs:
            self._walk(f"{folder}/{name}", f"{rel}/{name}")

    def _real(self, path: str) -> str | None:
        """The file ``path`` reads: itself, a listed link's target, or the rule's answer."""
        link = self._links.get(path)
        if link is not None:
            return link
        if self.listed(path):
            return path
        if not files.readable_name(path):
            return None
        found = self._locate(path)
        return found[1] if found is not None and found[0] == "file" else None

    def stat(self, path: str) -> StatKey | None:
        """``(mtime_ns, size, inode, ctime_ns)`` of a file now: unchanged means its bytes are
        too, as Git's index assumes (``cache.tree`` guards against "racy" recent edits)."""
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


_is_file, _is_dir, _is_link = stat_kind.S_ISREG, stat_kind.S_ISDIR, stat_kind.S_ISLNK


def _unreadable(rel: str) -> Exception:
    from qv_config.errors import OperationalError

    return OperationalError(
        f"cannot list {rel}/: permission denied",
        hint="give your user read access to the folder (qv reads every file under it)",
    )


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()

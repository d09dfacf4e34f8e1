"""The per-user cache key (``$XDG_CACHE_HOME/qv/cache-key``, else ``~/.cache/qv/cache-key``):
32 random bytes that MAC every cache record (``cache.pack``). Whoever knows it can forge records
qv trusts, so a key is used only when it is a regular file (not a link) of this user, mode 0600
or stricter, outside the project; otherwise caches are off (never an error). See
docs/performance.md, "The cache".
"""

from __future__ import annotations

import contextlib
import os
import stat
from functools import cache
from pathlib import Path

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
__all__ = ["key_path", "user_key"]


def key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid and is ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qv" / "cache-key"


def user_key(root: Path | None = None) -> bytes | None:
    """This user's cache key (None: none can be read or made, so caches are off); with
    ``root``, only a key outside that project (and the Git work tree holding it)."""
    where = str(key_path())
    if not os.path.isabs(where) or (root is not None and _in_project(where, str(root))):
        return None  # a key the repository could commit (HOME=<workspace> in CI) is no secret
    return _key_at(where)


@cache
def _key_at(where: str) -> bytes | None:
    """The key at ``where``, made there when there is none. One that is there but is a link,
    not a regular file, not this user's or readable or writable by others is not used (caches
    are off): someone else may know it. It is not replaced either: whoever planted it may
    control the folder; deleting it gives a new key."""
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(where), mode=0o700, exist_ok=True)
        fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:  # made here; else another qv process made it first
            out.write(os.urandom(32))
    try:
        fd = os.open(where, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError:
        return None
    try:
        key = os.read(fd, 33) if _private(os.fstat(fd)) else b""
    except OSError:
        return None
    finally:
        os.close(fd)
    return key if len(key) == 32 else None


def _private(st: os.stat_result) -> bool:
    """A regular file of this user that nobody else may read or write."""
    mine = not hasattr(os, "geteuid") or st.st_uid == os.geteuid()
    return stat.S_ISREG(st.st_mode) and mine and not st.st_mode & 0o077


@cache
def _in_project(key: str, root: str) -> bool:
    """Whether ``key`` lies in the project folder ``root`` or the Git work tree holding it."""
    key, top = os.path.realpath(key), os.path.realpath(root)
    tops = [top]
    for folder in (top, *map(str, Path(top).parents)):
        if os.path.lexists(os.path.join(folder, ".git")):
            tops.append(folder)
            break
    return any(os.path.commonpath((key, folder)) == folder for folder in tops)

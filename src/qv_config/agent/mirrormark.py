"""The mark of a Git mirror the agent made itself: only such a mirror is used.

A bare repository runs code of its own: its ``hooks/`` and many settings of its ``config``
(``core.fsmonitor``, ``core.sshCommand``, ``credential.helper``, ``remote.origin.url``...). The
default mirror lives in the workdir (``.qv/agent/<hash>/``), which may be a checkout of the very
repository the agent deploys: a mirror committed there must never be used as found. So each clone
is marked with a MAC, under this user's key (the cache key, ``cache.pack``; without one a key of
this process), over the mirror's real path, its URL and its ``config`` bytes. A mirror without a
valid mark (committed, copied, edited, a link, another user's) is moved away and cloned again.
"""

from __future__ import annotations

import hmac
import os
import stat
from pathlib import Path

MARK = "qv-agent-mirror"  # a file in the bare repository (git ignores files it does not know)
_FORMAT = b"qv-agent-mirror/1"
_PROCESS_KEY = os.urandom(32)  # no user key: a mirror is trusted by the process that made it


def _key(where: Path) -> bytes:
    from qv_config.cache.key import user_key

    # Not a key inside the checkout the mirror sits in: a repository could commit it (and a
    # mirror marked with it).
    return user_key(where) or _PROCESS_KEY


def _tag(where: Path, url: str, config: bytes) -> bytes:
    """The MAC of the mirror that lives (or will live) at ``where``."""
    real = os.fsencode(os.path.realpath(where))
    message = b"\0".join((_FORMAT, real, url.encode("utf-8", "surrogateescape"), config))
    return hmac.new(_key(where), message, "sha256").hexdigest().encode()


def mark(clone: Path, where: Path, url: str) -> None:
    """Mark the fresh ``clone`` as ours, bound to the path it is about to be renamed to."""
    tag = _tag(where, url, (clone / "config").read_bytes())
    (clone / MARK).write_bytes(tag + b"\n")


def foreign(path: Path, url: str) -> str | None:
    """Why the mirror at ``path`` is not one this agent made, or None when it is."""
    try:
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return "not a folder (a link, or a file)"
        if hasattr(os, "geteuid") and info.st_uid != os.geteuid():
            return "owned by another user"
        found = (path / MARK).read_bytes().strip()
        config = (path / "config").read_bytes()
    except OSError:
        return f"no {MARK} mark (made elsewhere: copied, or committed to the repository?)"
    if not hmac.compare_digest(found, _tag(path, url, config)):
        return f"its {MARK} mark does not match its path, URL and config"
    return None

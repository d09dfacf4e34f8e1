"""Sealed state files under ``.qv/``: only this user's own qv runs can have written them.

Caches under ``.qv/`` decide what ``qv validate`` reports and, for compiled code, what runs. A
``.qv/`` folder that came with the repository (committed in a pull request, restored from a CI
cache of another machine) must never be trusted: a forged entry could make validation pass or
execute code outside the template sandbox. Every sealed file therefore starts with a token
derived from a random key kept outside the repository (``$XDG_CACHE_HOME/qv/state-key``,
mode 0600); a file without this user's token is ignored, as a missing one is. The token is a
keyed hash, so it cannot be worked out from files anyone else can read. Where no key can be kept
(no writable home), sealed caches are simply off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path

_MAGIC = b"qv-sealed-1\n"
_KEY_BYTES = 32


def _key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qv" / "state-key"


@cache
def _token() -> bytes | None:
    """This user's seal (None: no key could be read or created, so sealed caches are off)."""
    path = _key_path()
    key = _read_key(path) or _create_key(path)
    if key is None:
        return None
    return hashlib.blake2b(b"qv state file", key=key, digest_size=16).digest()


def _read_key(path: Path) -> bytes | None:
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) == _KEY_BYTES else None


def _create_key(path: Path) -> bytes | None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another qv process created it first: use theirs
        return _read_key(path)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as out:
        out.write(os.urandom(_KEY_BYTES))
    return _read_key(path)


def ensure_state_dir(folder: Path) -> None:
    """Create ``.qv/...`` so that it ignores itself in Git (as .pytest_cache does)."""
    folder.mkdir(parents=True, exist_ok=True)
    top = next((p for p in (folder, *folder.parents) if p.name == ".qv"), None)
    marker = top / ".gitignore" if top is not None else None
    if marker is not None and not marker.exists():
        marker.write_text("# created by qv: caches and local state, safe to delete\n*\n")


def write_state_file(path: Path, blob: bytes) -> None:
    """Write a sealed file under ``.qv/`` atomically (tmp file + rename), for every qv cache.

    Readers never see a half-written file; a folder that cannot be written only makes qv slower.
    """
    token = _token()
    if token is None:
        return
    tmp: str | None = None
    try:
        ensure_state_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(_MAGIC + token)
            out.write(blob)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def read_state_file(path: Path) -> bytes | None:
    """The contents of a file ``write_state_file`` wrote for this user; None for anything else
    (missing, unreadable, foreign or from before sealing)."""
    sealed = open_sealed(path)
    if sealed is None:
        return None
    try:
        with os.fdopen(sealed[0], "rb") as handle:  # positioned right after the seal
            return handle.read()
    except OSError:
        return None


def open_sealed(path: Path) -> tuple[int, int] | None:
    """An open descriptor of a file ``write_state_file`` wrote for this user, and the offset
    where its contents start (past the seal, where the descriptor is positioned); None for
    anything else. ``read_state_file`` reads the rest; a cache that reads parts of a large file
    on demand (``repo.parsefile``) keeps the descriptor."""
    token = _token()
    if token is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    head = _MAGIC + token
    try:
        sealed = os.read(fd, len(head)) == head  # a fresh descriptor reads from the start
    except OSError:
        sealed = False
    if not sealed:
        os.close(fd)
        return None
    return fd, len(head)

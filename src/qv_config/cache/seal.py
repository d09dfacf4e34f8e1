"""The key and the MAC every cache record carries.

A ``.qv/`` folder can arrive with the repository (committed with ``git add -f``, restored from
another machine's CI cache) or be copied from another project: nothing in it may decide a
result. So every record qv writes is authenticated with HMAC-SHA256 (cut to 128 bits) under a
random key kept per user *outside* the repository (``$XDG_CACHE_HOME/qv/cache-key``, else
``~/.cache/qv/cache-key``; mode 0600). The MAC covers the record's bytes and binds them to the
cache format, the qv and Python versions, the code of ``cache/`` and ``yamlio/``, the project's
folder, the cache file and the record's name: a record forged without the key, taken from
another project or file, renamed, truncated or changed in one byte fails, and qv then works as
if it were absent. Without a place for the key (no writable home), caches are off.
"""

from __future__ import annotations

import hmac
import os
import sys
from functools import cache
from pathlib import Path

from qv_config import __version__

FORMAT = "qv-cache/1"
TAG_BYTES = 16
_KEY_BYTES = 32


def key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "qv" / "cache-key"


def user_key() -> bytes | None:
    """This user's cache key (None: none can be read or made, so caches are off)."""
    return _key_at(str(key_path()))


@cache
def _key_at(where: str) -> bytes | None:
    path = Path(where)
    return _read_key(path) or _create_key(path)


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
    except FileExistsError:  # another qv process made it first: use theirs
        return _read_key(path)
    except OSError:
        return None
    with os.fdopen(fd, "wb") as out:
        out.write(os.urandom(_KEY_BYTES))
    return _read_key(path)


@cache
def code_hash() -> str:
    """Hash of the code that writes and reads records and parses YAML (``cache/``, ``yamlio/``):
    records written by other code (a development build of the same version) are not read."""
    import hashlib

    digest = hashlib.sha256()
    package = Path(__file__).parents[1]
    for folder in ("cache", "yamlio"):
        for source in sorted((package / folder).glob("*.py")):
            digest.update(f"{folder}/{source.name}".encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


class Sealer:
    """MACs the records of one cache file of one project."""

    def __init__(self, key: bytes, root: Path, file: str, extra: str = "") -> None:
        python = f"{sys.version_info[0]}.{sys.version_info[1]}"  # marshal's format may change
        parts = (FORMAT, __version__, code_hash(), python, os.path.realpath(root), file, extra, "")
        binding = "\0".join(parts)
        self._base = hmac.new(key, binding.encode("utf-8", "surrogateescape"), "sha256")

    def tag(self, name: str, payload: bytes | memoryview) -> bytes:
        mac = self._base.copy()
        mac.update(name.encode("utf-8", "surrogateescape") + b"\0")
        mac.update(payload)
        return mac.digest()[:TAG_BYTES]

    def check(self, name: str, payload: bytes | memoryview, tag: bytes) -> bool:
        return hmac.compare_digest(self.tag(name, payload), tag)


def sealer(root: Path | None, file: str, extra: str = "") -> Sealer | None:
    """The sealer of ``file`` (relative to ``.qv/cache/``) of the project at ``root``, its
    records also bound to ``extra`` (e.g. a hash of the code that made them); None when
    caching is off (no root given, or no key)."""
    if root is None or not _own_folders(root, file):
        return None
    key = user_key()
    return Sealer(key, root, file, extra) if key is not None else None


def _own_folders(root: Path, file: str) -> bool:
    """No folder on the way to the cache file is a link (or anything but a folder): a ``.qv``
    link committed to the repository would make qv write its cache wherever it points."""
    import stat

    folder = str(root)
    for part in (".qv", "cache", *Path(file).parent.parts):
        folder = f"{folder}/{part}"
        try:
            mode = os.lstat(folder).st_mode
        except FileNotFoundError:
            return True  # made by qv when it writes (below a folder checked here)
        except OSError:
            return False
        if not stat.S_ISDIR(mode):
            return False
    return True

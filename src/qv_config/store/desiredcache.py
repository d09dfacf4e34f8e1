"""The desired-state hash cache of ``qv drift``: per-key sha256 and digest by *input key*.

Rendering an environment from Git costs about 1.5 s at 10,000 documents, but drift only needs
the sha256 of each desired value (the store's values are compared by hash) and the deployed
revision rarely changes between runs. ``repo.history.input_keys`` gives the tree ids of
everything that can change an environment; equal input keys mean an equal effective
configuration, so the hashes rendered once are reused until one of those trees changes.

Entries live under ``<root>/.qv/cache/desired/`` (``cache.pack.StateMemo``, one per environment and
input key); a missing or unauthentic entry is ignored (the caller renders), so deleting the
folder is always safe. Environments that render from SOPS-encrypted files are never cached:
their hashes would be hashes of decrypted secrets on disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config import __version__
from qv_config.repo.gitcmd import Done, run

if TYPE_CHECKING:
    from qv_config.cache.pack import StateMemo

_FORMAT = f"qv-desired-1/{__version__}"
_KEEP = 16  # entries kept per project (~1 MB each at 10,000 keys): old revisions age out


@dataclass
class Counters:
    """What this process did (tests and profiling read it; never persisted)."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    renders: int = 0  # environments rendered by store.source (the cost the cache avoids)


STATS = Counters()


@dataclass(frozen=True)
class CachedDesired:
    """The desired state of one environment at one input key, without its values."""

    digest: str
    hashes: Mapping[str, str]  # "{env}/{kind}/{name}" -> full sha256 hex of the value


@dataclass(frozen=True)
class DesiredHashes:
    """What drift needs of a desired state: its commit, digest and per-key sha256."""

    env: str
    revision: str
    digest: str
    hashes: Mapping[str, str]
    cached: bool  # served from the cache (no render)


@dataclass(frozen=True)
class InputKey:
    """A revision resolved to its commit and the input key of ``env`` there."""

    revision: str
    key: str


def stamp(env: str, key: str) -> str:
    """What ``_meta.inputs`` records: a digest of the qv version, the environment and its input
    key. Equal stamps mean an equal effective configuration (a new qv version may render
    differently, so it never matches an older stamp)."""
    return hashlib.sha256(f"{_FORMAT}\0{env}\0{key}".encode()).hexdigest()


def input_key(root: Path, env: str, rev: str) -> InputKey | None:
    """The commit of ``rev`` and the environment's input key; None when Git cannot say (the
    caller then renders, which reports the problem properly).

    Works in a checkout (paths relative to the project folder, which may sit inside the
    repository) and in the agent's bare mirror (no work tree: paths from the repository root).
    """
    from qv_config.repo.history import input_paths

    try:
        head = _commit_and_project(root, rev, "./")
        if head is None:
            return None
        sha, bases, prefix = head
        key = _key(root, sha, input_paths(env, bases), prefix)
    except (OSError, ValueError, IndexError):
        return None
    return InputKey(sha, key) if key is not None else None


def _key(root: Path, sha: str, paths: tuple[str, ...], prefix: str) -> str | None:
    """The object ids of ``paths`` at ``sha`` joined as ``repo.history.input_keys`` does (so
    cache entries are shared with it); None when qv.yaml is absent (not a project there)."""
    query = "".join(f"{sha}:{prefix}{path}\n" for path in paths).encode()
    proc = _cat_file(root, "--batch-check=%(objectname)", query)
    lines = proc.stdout.decode().splitlines()
    if proc.returncode != 0 or len(lines) != len(paths):
        return None
    ids = [line.split()[0] if not line.endswith("missing") else "-" for line in lines]
    return None if ids[0] == "-" else ",".join(ids)


def _cat_file(root: Path, mode: str, query: bytes) -> Done:
    return run(root, "cat-file", mode, input=query)


def _commit_and_project(
    root: Path, rev: str, prefix: str
) -> tuple[str, tuple[str, ...], str] | None:
    """The commit id of ``rev``, the ``bases`` of its qv.yaml and the path prefix that works
    here, in one ``git cat-file`` (two in a bare repository, which refuses ``./``)."""
    query = f"{rev}^{{commit}}\n{rev}^{{commit}}:{prefix}qv.yaml\n".encode()
    proc = _cat_file(root, "--batch", query)
    if proc.returncode != 0:
        if prefix and b"relative path syntax" in proc.stderr:
            return _commit_and_project(root, rev, "")
        return None
    out = proc.stdout
    first, out = _object(out)
    if first is None:
        return None
    second, _ = _object(out)
    return first[0], _bases(second[1] if second is not None else None), prefix


def _object(out: bytes) -> tuple[tuple[str, bytes] | None, bytes]:
    """One ``--batch`` record: ((object id, content) or None when missing, the rest)."""
    header, _, rest = out.partition(b"\n")
    parts = header.split()
    if len(parts) != 3:
        return None, rest
    size = int(parts[2])
    return (parts[0].decode(), rest[:size]), rest[size + 1 :]


def _bases(raw: bytes | None) -> tuple[str, ...]:
    from qv_config.yamlio import YamlError, load_bytes

    try:
        data = load_bytes("qv.yaml", raw).data if raw is not None else None
    except YamlError:
        data = None  # rendering reports a broken qv.yaml; here the default applies
    spec = data.get("spec") if isinstance(data, dict) else None
    bases = spec.get("bases") if isinstance(spec, dict) else None
    if isinstance(bases, list) and all(isinstance(b, str) for b in bases):
        return tuple(bases)
    return ("strategies",)


def folder(root: Path) -> Path:
    return root / ".qv" / "cache" / "desired"


def load(root: Path, env: str, key: str) -> CachedDesired | None:
    """The kept hashes, or None when absent (or not authentic: ``cache.pack``)."""
    kept = _memo(root).get(env, key)
    if kept is None:
        STATS.misses += 1
        return None
    STATS.hits += 1
    return CachedDesired(*kept)


def save(root: Path, env: str, key: str, entry: CachedDesired) -> None:
    """Keep an entry (a read-only checkout only loses speed); old ones age out."""
    if _memo(root).put(env, key, (entry.digest, dict(entry.hashes))):
        STATS.writes += 1


def _memo(root: Path) -> StateMemo:
    from qv_config.cache.pack import StateMemo

    return StateMemo(root, "desired", keep=_KEEP)

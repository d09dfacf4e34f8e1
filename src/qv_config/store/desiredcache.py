"""``qv drift``'s desired-state hashes by *input key* (the Git tree ids of everything an
environment renders from, ``repo.history``): per-key sha256 and digest, kept under
``.qv/cache/desired/`` (16 most recently used), so a pending commit is rendered once. Never kept
for environments with SOPS-encrypted files (hashes of decrypted secrets)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config import __version__

if TYPE_CHECKING:
    from qv_config.cache.pack import StateMemo

_FORMAT = f"qv-desired-1/{__version__}"
_KEEP = 16  # entries kept per project (~1 MB each at 10,000 keys): old revisions age out


@dataclass
class Counters:
    """What this process did (tests read it; never persisted)."""

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
    paths: tuple[str, ...] = ()  # the folders and files the key is made of


def stamp(env: str, key: str) -> str:
    """What ``_meta.inputs`` records: a digest of the qv version, the environment and its input
    key. Equal stamps mean an equal effective configuration (a new qv version may render
    differently, so it never matches an older stamp)."""
    return hashlib.sha256(f"{_FORMAT}\0{env}\0{key}".encode()).hexdigest()


def stamp_of(root: Path, env: str, resolved: InputKey, schemas: Sequence[str]) -> str:
    """What ``_meta.inputs`` records for ``resolved``: the ``stamp`` of its input key and, when
    the state read schema files outside the key's folders (``schemas``, by ``metadata.schema``:
    ``repo.history.outside``), of their object ids too; their paths follow, one a line, so
    that the next comparison knows which files to ask Git about."""
    if not schemas:
        return stamp(env, resolved.key)
    from qv_config.repo.history import input_keys

    ids = input_keys(root, [resolved.revision], schemas)[resolved.revision]
    return "\n".join((stamp(env, f"{resolved.key};{ids}"), *schemas))


def tip_stamp(root: Path, env: str, resolved: InputKey, recorded: str) -> str:
    """The stamp of ``resolved`` to compare with ``recorded`` (a ``_meta.inputs``), over the
    schema files listed there: an equal input key means equal documents, which name the same
    schema files; another key never matches. "" when Git cannot say (the caller renders)."""
    from qv_config.errors import QvError

    try:
        return stamp_of(root, env, resolved, recorded_schemas(recorded))
    except (QvError, OSError):
        return ""


def recorded_schemas(inputs: str) -> tuple[str, ...]:
    """The schema files outside the input key's folders that a ``_meta.inputs`` lists."""
    return tuple(inputs.split("\n")[1:])


def schemas_named(values: Mapping[str, bytes]) -> set[str]:
    """The schema files the Configs among ``values`` (canonical JSON) name by
    ``metadata.schema``."""
    import orjson

    from qv_config.validate.schemafiles import named

    found = (orjson.loads(v) for v in values.values() if b'"schema"' in v and b'"Config"' in v)
    return {named(doc) for doc in found if isinstance(doc, dict)} - {""}


def input_key(root: Path, env: str, rev: str) -> InputKey | None:
    """The commit of ``rev`` and the environment's input key there (``repo.history``, in a
    checkout or the agent's bare mirror); None when Git cannot say or qv.yaml is absent (the
    caller then renders, which reports the problem properly)."""
    from qv_config.errors import QvError
    from qv_config.repo import gitcmd
    from qv_config.repo.history import input_keys, input_paths, is_bare
    from qv_config.repo.manifest import bases_of

    try:
        prefix = "" if is_bare(root) else "./"  # the project may sit inside the repository
        query = f"{rev}^{{commit}}\n{rev}^{{commit}}:{prefix}qv.yaml\n".encode()
        done = gitcmd.run(root, "cat-file", "--batch", input=query)
        commit, rest = _object(done.stdout)
        if not done.ok or commit is None:
            return None
        project, _ = _object(rest)
        paths = input_paths(env, bases_of(project[1] if project is not None else None))
        key = input_keys(root, [commit[0]], paths)[commit[0]]
    except (QvError, OSError, ValueError, IndexError):
        return None
    return InputKey(commit[0], key, paths) if not key.startswith("-") else None  # "-": no qv.yaml


def _object(out: bytes) -> tuple[tuple[str, bytes] | None, bytes]:
    """One ``--batch`` answer: ((object id, content) or None when missing, the rest)."""
    header, _, rest = out.partition(b"\n")
    parts = header.split()
    if len(parts) != 3:
        return None, rest
    size = int(parts[2])
    return (parts[0].decode(), rest[:size]), rest[size + 1 :]


def folder(root: Path) -> Path:
    return root / ".qv" / "cache" / "desired"


def load(root: Path, env: str, key: str) -> CachedDesired | None:
    """The kept hashes, or None when absent (or not authentic: ``cache.pack``)."""
    kept = _memo(root).get(env, key)
    return CachedDesired(*kept) if kept is not None else None


def save(root: Path, env: str, key: str, entry: CachedDesired) -> None:
    """Keep an entry (a read-only checkout only loses speed); old ones age out."""
    _memo(root).put(env, key, (entry.digest, dict(entry.hashes)))


def _memo(root: Path) -> StateMemo:
    from qv_config.cache.pack import StateMemo

    return StateMemo(root, "desired", keep=_KEEP)

"""The secret paths of documents: the fields the schema marks ``x-qv-secret`` and the leaves the
repository holds as sops ciphertext, whatever the schema says (docs/secrets.md, "Secret paths").

sops encrypts what its metadata selects (``.sops.yaml``'s ``encrypted_regex`` names keys such as
``api_key`` at any depth), not only what a schema marks. Once decrypted, for the store and the
services, such a value looks like any other: the only record that it is a secret is where the
encrypted file holds ciphertext. ``encrypted_leaves`` reads that record from a snapshot, as
patterns in the shape of ``models.marks`` (list indexes are ``*``: an overlay's list item may
land at another index of the rendered list, so every item's field is hidden rather than the
wrong one shown); ``covers`` says whether a field path is, or holds, one of them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from qv_config.secrets.sopsfile import is_ciphertext

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot

Pattern = tuple[str, ...]
DocKey = tuple[str, str]  # (kind, metadata.name)


def encrypted_leaves(
    snapshot: Snapshot, envs: Collection[str] | None = None
) -> dict[DocKey, frozenset[Pattern]]:
    """Patterns of the ciphertext leaves each document's encrypted files hold (templates and
    bases count for every environment), by (kind, name)."""
    from qv_config.secrets.snapshot import encrypted_paths

    found: dict[DocKey, set[Pattern]] = {}
    for path in encrypted_paths(snapshot, envs):
        data = snapshot.encrypted[path]
        meta = data.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        leaves = {p for key, value in data.items() if key != "sops" for p in _leaves(value, (key,))}
        if leaves:
            found.setdefault((str(data.get("kind", "")), str(name)), set()).update(leaves)
    return {key: frozenset(patterns) for key, patterns in found.items()}


def _leaves(value: Any, path: Pattern) -> Iterator[Pattern]:
    if is_ciphertext(value):
        yield path
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, (*path, "*"))


def covers(patterns: Collection[Pattern], path: tuple[str | int, ...]) -> bool:
    """Whether ``path`` is a secret path of ``patterns`` or holds one (a mapping or list with a
    secret inside is not shown whole either)."""
    return any(
        len(pattern) >= len(path)
        and all(want == "*" or want == str(got) for want, got in zip(pattern, path, strict=False))
        for pattern in patterns
    )

"""What an out-of-band edit changed, field by field: the value qv deployed (the recorded
revision rendered again) against the value found in the store, for each modified key.

Only modified keys are looked at, and only when there are some, so a clean `qv drift` renders
nothing more. Secret fields (those the schema marks and those the revision holds encrypted) are
compared (in memory, decrypted with the key at hand) but never shown: they read
``(secret changed)``, or ``(encrypted; no key to compare)`` without a key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.diff.compute import MarkLookup
from qv_config.diff.model import EnvDiff
from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from qv_config.models.marks import RiskMark
    from qv_config.repo.types import Snapshot


def field_drift(
    root: Path, env: str, revision: str, found: Mapping[str, bytes], keys: Sequence[str]
) -> EnvDiff:
    """The field changes from ``revision``'s value to the ``found`` one of each of ``keys``
    (``{env}/{kind-slug}/{name}``); a found value that is not a JSON object reads as a whole
    document replaced."""
    from qv_config.diff.compute import diff_documents
    from qv_config.diff.sides import mark_lookup
    from qv_config.repo import load_snapshot
    from qv_config.repo.git import GitSource

    source = GitSource(root, revision)
    try:
        snapshot = load_snapshot(source, envs=[env])
        mine = {key.split("/", 1)[1]: doc for key, doc in _deployed(snapshot, env, keys).items()}
        theirs = {key.split("/", 1)[1]: _found(found.get(key)) for key in keys}
        return diff_documents(
            mine,
            theirs,
            marks=_deployed_marks(
                _with_leaves(mark_lookup(snapshot.read), snapshot, env), mine, theirs
            ),
            left_label=f"{env}@{revision[:12]} (deployed)",
            right_label=f"{env} in the store (found)",
            secret=_plaintexts,
        )
    finally:
        source.close()


def _with_leaves(lookup: MarkLookup, snapshot: Snapshot, env: str) -> MarkLookup:
    """Marks, and every field the revision holds encrypted as a secret too: decrypted for the
    comparison, such a value looks like any other (``secrets.paths``)."""
    from qv_config.secrets.paths import covers, encrypted_leaves

    leaves = encrypted_leaves(snapshot, [env])
    if not leaves:
        return lookup

    def marks(doc: Mapping[str, Any], path: FieldPath) -> tuple[RiskMark | None, bool]:
        risk, secret = lookup(doc, path)
        meta = doc.get("metadata")
        name = str(meta.get("name")) if isinstance(meta, Mapping) else "None"
        return risk, secret or covers(leaves.get((str(doc.get("kind", "")), name), ()), path)

    return marks


def _deployed_marks(
    lookup: MarkLookup, mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> MarkLookup:
    """Marks (risk, secret) by the deployed document, never by what was found: an edit of
    ``kind`` or ``metadata`` in the store must not unmask a secret field."""
    deployed = {id(theirs[ref]): doc for ref, doc in mine.items() if ref in theirs}

    def marks(doc: Mapping[str, Any], path: FieldPath) -> tuple[RiskMark | None, bool]:
        return lookup(deployed.get(id(doc), doc), path)

    return marks


def _found(raw: bytes | None) -> Mapping[str, Any]:
    import orjson

    try:
        value = orjson.loads(raw) if raw is not None else None
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"(not a JSON object)": True}


def _deployed(snapshot: Snapshot, env: str, keys: Sequence[str]) -> dict[str, Any]:
    """The snapshot's documents of ``keys`` as deployed (canonical JSON read back), secrets
    decrypted when a key opens them, else left as ciphertext."""
    import contextlib

    import orjson

    from qv_config.errors import OperationalError
    from qv_config.render.desired import canonical
    from qv_config.render.engine import render_each
    from qv_config.secrets.snapshot import decrypt_snapshot

    with contextlib.suppress(OperationalError):  # no key: "(encrypted; no key to compare)"
        snapshot = decrypt_snapshot(snapshot, envs=[env])
    docs: dict[str, Any] = {}
    selectors = [key.split("/", 1)[1] for key in keys]
    keep = lambda key, doc: docs.update({key: orjson.loads(canonical(doc))})  # noqa: E731
    render_each(snapshot, env, keep, selectors)
    return docs


def _plaintexts(queries: Sequence[Any]) -> list[str | None]:
    """Secret fields of the two sides, both plaintext unless no key opened the deployed one."""
    from qv_config.diff.secretdiff import NO_KEY_TO_COMPARE, SECRET_CHANGED, is_ciphertext

    return [NO_KEY_TO_COMPARE if is_ciphertext(q.old) else SECRET_CHANGED for q in queries]

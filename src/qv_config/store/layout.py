"""The store layout of SPEC §6 and the JSON encoding of ``_meta``, audit entries and events.

Keys: ``P/{env}/{kind-slug}/{name}`` (values), ``P/{env}/_meta``, ``P/{env}/_audit`` (Redis stream;
etcd ``P/{env}/_audit/<seq>``; SQLite table ``audit``) and ``P/{env}/_events`` (Redis channel and
stream). Every name qv reserves starts with ``_`` so it can never collide with a kind slug.
"""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from qv_config.store.errors import MetaCorruptError
from qv_config.store.types import AuditEntry, Meta

META = "_meta"
AUDIT = "_audit"
EVENTS = "_events"
INDEX = "_index"  # per-key content hashes of the deployed values (planning without reading them)
LEASE = "_lease"  # which agent may write this environment (Redis and etcd; SQLite: table lease)
_HASH_CHARS = 32  # 128 bits of sha256: change detection, not a security boundary
_META_FIELDS = ("revision", "digest", "applied_at", "applied_by")


def meta_key(prefix: str, env: str) -> str:
    return f"{prefix}/{env}/{META}"


def index_key(prefix: str, env: str) -> str:
    return f"{prefix}/{env}/{INDEX}"


def index_shard_key(prefix: str, env: str, shard: str) -> str:
    return f"{prefix}/{env}/{INDEX}/{shard}"


def lease_key(prefix: str, env: str) -> str:
    return f"{prefix}/{env}/{LEASE}"


def env_prefix(prefix: str, env: str) -> str:
    return f"{prefix}/{env}/"


def key_text(raw: bytes) -> str:
    """A key as a store gives its bytes: UTF-8, bytes that are not kept as surrogates (a key
    written behind qv's back is drift, escaped in reports, never a decoding error)."""
    return raw.decode("utf-8", "surrogateescape")


def key_bytes(key: str) -> bytes:
    """The bytes of a key read by ``key_text`` (how such a key is deleted again)."""
    return key.encode("utf-8", "surrogateescape")


# qv's own keys under ``P/{env}/``: everything else there is a value key qv wrote, or a key
# written behind its back ("unexpected" to drift, removed by a heal), whatever its shape.
_OWN_KEYS = re.compile(r"_(?:meta|events|lease|index(?:/[0-9a-f]{2})?|audit(?:/.*)?)", re.DOTALL)


def is_own_key(rel: str) -> bool:
    """``{env}/_meta``, ``_index`` and its shards ``_index/3f``, ``_events``, ``_lease``, and the
    audit log ``_audit`` (``_audit/<seq>`` in etcd: ``qv history`` shows what is there)."""
    return _OWN_KEYS.fullmatch(rel.partition("/")[2]) is not None


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def whoami(root: str | os.PathLike[str] | None = None) -> str:
    """Who applies: ``git config user.email`` in the project, else $USER."""
    from qv_config.errors import GitError
    from qv_config.repo.gitcmd import run

    try:
        out = run(root, "config", "user.email")
        if out.ok and out.text.strip():
            return out.text.strip()
    except GitError:  # no git: the user name still says who
        pass
    return os.environ.get("USER") or getpass.getuser()


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def encode_meta(meta: Meta) -> bytes:
    obj = {**dataclasses.asdict(meta), "approvals": list(meta.approvals)}
    if not meta.inputs:
        del obj["inputs"]  # unknown: the key is left out, as an older qv wrote it
    if not meta.break_glass:
        del obj["break_glass"]  # an approved state reads as an older qv wrote it
    return _dumps(obj)


def decode_meta(raw: bytes, key: str, repair: str) -> Meta:
    """Parse ``_meta``; anything else is refused, naming the key and how to repair it."""
    try:
        obj = json.loads(raw)
        if not isinstance(obj, dict) or not all(isinstance(obj.get(f), str) for f in _META_FIELDS):
            raise ValueError(f"needs string fields {', '.join(_META_FIELDS)}")
        approvals = obj.get("approvals") or []
        inputs = obj.get("inputs")
        glass = obj.get("break_glass")
        return Meta(
            obj["revision"],
            obj["digest"],
            obj["applied_at"],
            obj["applied_by"],
            approvals=tuple(str(a) for a in approvals),
            # Optional (older qv wrote none); anything but a string is treated as unknown.
            inputs=inputs if isinstance(inputs, str) else "",
            break_glass=str(glass) if glass else "",
        )
    except (ValueError, TypeError, UnicodeDecodeError) as err:
        raise MetaCorruptError(
            f"the store key {key} is not valid qv metadata ({err})",
            hint=f"repair: {repair}, or delete the key and run `qv sync` to re-apply",
        ) from None


def encode_audit(entry: AuditEntry) -> bytes:
    obj = dataclasses.asdict(entry)
    obj.pop("seq")
    obj["approvals"] = list(entry.approvals)
    if not entry.break_glass:
        del obj["break_glass"]  # readable by an older qv, which knows no such field
    return _dumps(obj)


_AUDIT_TYPES: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("action", "env", "revision", "digest", "at", "by", "reason"), (str,)),
    **dict.fromkeys(("from_revision", "from_digest"), (str, type(None))),
    **dict.fromkeys(("added", "changed", "removed"), (int,)),
    "break_glass": (bool,),
}


def decode_audit(raw: bytes | str, seq: str) -> AuditEntry:
    try:
        obj = json.loads(raw)
        if type(obj) is not dict:
            raise TypeError(f"a JSON {type(obj).__name__}, not an object")
        obj["approvals"] = tuple(obj.get("approvals") or ())
        _check_audit(obj)
        return AuditEntry(**obj, seq=seq)
    except (ValueError, TypeError) as err:
        # An unreadable audit line is shown, not fatal: the log is for people.
        return AuditEntry(
            "refused", "?", "?", "?", "?", "?", reason=f"unreadable entry: {err}", seq=seq
        )


def _check_audit(obj: dict[str, Any]) -> None:
    """Every field of the type reporters expect (an entry written outside qv may hold any)."""
    for name, value in obj.items():
        allowed = _AUDIT_TYPES.get(name)
        bad = allowed is not None and not isinstance(value, allowed)
        if bad or (name == "approvals" and not all(isinstance(a, str) for a in value)):
            raise TypeError(f"{name} is a JSON {type(value).__name__}")


def encode_event(meta: Meta, env: str) -> bytes:
    return _dumps(
        {
            "env": env,
            "revision": meta.revision,
            "digest": meta.digest,
            "applied_at": meta.applied_at,
        }
    )


def value_hash(value: bytes) -> str:
    return hashlib.sha256(value).hexdigest()[:_HASH_CHARS]


def value_hashes(
    values: Mapping[str, bytes], full: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``value_hash`` of every value; from the renderer's full sha256 hex when it has them."""
    n = _HASH_CHARS
    if full is not None:
        return {key: h[:n] for key, h in full.items()}
    sha = hashlib.sha256
    return {key: sha(value).hexdigest()[:n] for key, value in values.items()}


def full_hashes(values: Mapping[str, bytes]) -> dict[str, str]:
    sha = hashlib.sha256
    return {key: sha(value).hexdigest() for key, value in values.items()}


def digest_of(hashes: Mapping[str, str]) -> str:
    """The desired-state digest (docs/format.md) from full sha256 hex per key.

    Same formula as ``render.desired.digest`` (a test keeps them equal), computed from hashes
    that the hash index reuses instead of hashing every value twice.
    """
    lines = "".join(f"{key}\t{hashes[key]}\n" for key in sorted(hashes))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()

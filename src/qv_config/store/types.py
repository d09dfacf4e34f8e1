"""Data passed between the store layer and its callers (frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["apply", "rollback", "refused"]


@dataclass(frozen=True)
class Meta:
    """The content of ``P/{env}/_meta``: what is deployed."""

    revision: str
    digest: str
    applied_at: str
    applied_by: str
    approvals: tuple[str, ...] = ()
    # The stamp of everything the deployed state was rendered from (qv version, environment and
    # the tree ids of its inputs; store/desiredcache.py ``stamp``). Additive to SPEC §6's fields;
    # "" when written by an older qv or unknown: drift then renders the tip to compare.
    inputs: str = ""
    # The reason given with `qv sync --break-glass` when this state was applied without the
    # approvals its policy asks for; "" for an approved (or ungated) state. Additive, like inputs.
    break_glass: str = ""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the append-only audit log (every apply, rollback and refused apply)."""

    action: Action
    env: str
    revision: str
    digest: str
    at: str
    by: str
    from_revision: str | None = None
    from_digest: str | None = None
    reason: str = ""
    added: int = 0
    changed: int = 0
    removed: int = 0
    approvals: tuple[str, ...] = ()
    break_glass: bool = False  # applied with `--break-glass`: its approvals were missing
    seq: str = (
        ""  # store-assigned id (SQLite rowid, Redis stream id, etcd sequence); "" before write
    )


@dataclass(frozen=True)
class StoreState:
    """A consistent read of one environment: the raw ``_meta``, its fencing token, every value."""

    meta_raw: bytes | None
    token: object  # compared at commit (raw _meta bytes, or etcd mod_revision)
    values: Mapping[str, bytes]  # "{env}/{kind-slug}/{name}" -> canonical JSON


@dataclass(frozen=True)
class IndexState:
    """A consistent read of ``_meta`` and the per-key hash index (``None`` when absent/stale)."""

    meta_raw: bytes | None
    token: object  # the same fencing token as StoreState.token
    index_raw: bytes | None  # P/{env}/_index as stored (index.decode_top checks it)


@dataclass(frozen=True)
class Plan:
    """What an apply writes: only changed keys, only removed keys."""

    puts: Mapping[str, bytes]
    deletes: tuple[str, ...]
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.puts and not self.deletes

    @property
    def removed(self) -> tuple[str, ...]:
        return self.deletes


@dataclass(frozen=True)
class IndexWrite:
    """What a commit writes to the hash index (store/index.py): the top key ``P/{env}/_index``
    and the shards ``P/{env}/_index/{shard}`` that changed (None: delete the shard)."""

    top: bytes
    shards: Mapping[str, bytes | None]


@dataclass(frozen=True)
class Commit:
    """One atomic, fenced write: the plan, the new ``_meta``, the audit entry and the event."""

    plan: Plan
    meta: bytes
    audit: AuditEntry
    event: bytes
    expect: object = field(default=None)  # the token of the StoreState the plan was made from
    # The per-key content hash index after this commit (store/index.py); written in the same
    # transaction so that the next apply can plan without reading every value. None: the top key
    # is deleted (the index is then unused until a full rewrite).
    index: IndexWrite | None = None


@dataclass(frozen=True)
class DesiredState:
    """The rendered desired state of one environment at one revision."""

    env: str
    revision: str
    digest: str
    values: Mapping[str, bytes]
    # sha256 hex of each value when the renderer already computed them for the digest (so the
    # apply's hash index costs no second pass); None: the apply hashes the values itself.
    hashes: Mapping[str, str] | None = None
    inputs: str = ""  # recorded as Meta.inputs: the input stamp of ``revision`` ("" unknown)
    # Rendered from decrypted SOPS files: its digest covers plaintext, not the committed
    # ciphertext an approval's digest covers (the gate then asks the approvals core to render).
    secret: bool = False


@dataclass(frozen=True)
class ApplyResult:
    """What an apply (or dry run) did."""

    env: str
    status: Literal["applied", "unchanged", "dry-run"]
    plan: Plan
    old: Meta | None
    new: Meta
    attempts: int = 1

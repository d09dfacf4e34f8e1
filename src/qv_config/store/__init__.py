"""Runtime stores (SPEC §6): SQLite, Redis and etcd behind one ``Store`` protocol.

``open_store(url, root)`` parses the URL and connects; ``apply_desired`` applies a desired state
atomically, fenced, minimally and monotonically; ``compute_drift`` compares. Backends import their
client library only when opened.
"""

from __future__ import annotations

from pathlib import Path

from qv_config.store.apply import apply_desired, rollback_target
from qv_config.store.drift import DriftReport, compute_drift
from qv_config.store.errors import (
    ApplyRefused,
    FenceConflict,
    MetaCorruptError,
    StoreError,
    TooLargeError,
)
from qv_config.store.plan import plan_apply
from qv_config.store.protocol import Store
from qv_config.store.types import (
    ApplyResult,
    AuditEntry,
    Commit,
    DesiredState,
    Meta,
    Plan,
    StoreState,
)
from qv_config.store.url import StoreUrl, parse_store_url


def open_store(url: str, root: Path, *, create: bool = True, dry_run: bool = False) -> Store:
    """Connect to the store at ``url`` (UsageError when malformed, StoreError when unreachable).

    ``create=False`` for commands that only read (drift, history, rollback's look-up): a SQLite
    file that does not exist is ``NoStore``, never created empty. Writers (sync, the agent)
    create it. ``dry_run`` (``qv sync --dry-run``): never created; a missing file reads as an
    empty store."""
    parsed = parse_store_url(url, root)
    if parsed.scheme == "sqlite":
        from qv_config.store.sqlite import SqliteStore

        return SqliteStore(parsed, create=create and not dry_run, dry_run=dry_run)
    if parsed.scheme.startswith("redis"):
        from qv_config.store.redis import RedisStore

        return RedisStore(parsed)
    from qv_config.store.etcd import EtcdStore

    return EtcdStore(parsed)


__all__ = [
    "ApplyRefused",
    "ApplyResult",
    "AuditEntry",
    "Commit",
    "DesiredState",
    "DriftReport",
    "FenceConflict",
    "Meta",
    "MetaCorruptError",
    "Plan",
    "Store",
    "StoreError",
    "StoreState",
    "StoreUrl",
    "TooLargeError",
    "apply_desired",
    "compute_drift",
    "open_store",
    "parse_store_url",
    "plan_apply",
    "rollback_target",
]

"""The one interface every runtime store implements (SQLite, Redis, etcd)."""

from __future__ import annotations

from typing import Protocol

from qv_config.store.types import AuditEntry, Commit, StoreState
from qv_config.store.url import StoreUrl


class Store(Protocol):
    url: StoreUrl

    def read(self, env: str) -> StoreState:
        """A consistent read (one snapshot) of ``_meta`` and every value of ``env``."""
        ...

    def commit(self, env: str, change: Commit) -> None:
        """Write ``change`` in ONE transaction, only if ``_meta`` still matches ``change.expect``.

        Raises FenceConflict when another writer committed in between, TooLargeError when the
        change does not fit in one transaction (nothing is written), StoreError when unreachable.
        """
        ...

    def append_audit(self, env: str, entry: AuditEntry) -> None:
        """Append an entry alone (refused applies)."""
        ...

    def audit(self, env: str, limit: int | None = None) -> list[AuditEntry]:
        """The audit log, newest first."""
        ...

    def repair_hint(self, env: str) -> str:
        """How to inspect ``_meta`` with the store's own CLI (for messages)."""
        ...

    def close(self) -> None: ...

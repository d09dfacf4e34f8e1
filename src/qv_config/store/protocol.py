"""The one interface every runtime store implements (SQLite, Redis, etcd)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from qv_config.store.types import AuditEntry, Commit, IndexState, StoreState
from qv_config.store.url import StoreUrl


class Store(Protocol):
    url: StoreUrl

    def read(self, env: str) -> StoreState:
        """A consistent read (one snapshot) of ``_meta`` and every value of ``env``."""
        ...

    def read_index(self, env: str) -> IndexState:
        """A consistent read of ``_meta`` and ``_index`` only (planning an apply: two keys)."""
        ...

    def read_values(self, env: str, keys: list[str]) -> StoreState:
        """A consistent read (one snapshot) of ``_meta`` and the values of ``keys``
        (``{env}/{kind-slug}/{name}``; absent ones are left out): a follower that knows from
        the hash index which keys changed reads only those."""
        ...

    def read_index_shards(self, env: str, shards: list[str]) -> dict[str, bytes | None]:
        """The raw ``P/{env}/_index/{shard}`` values of ``shards`` (None where absent)."""
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

    def acquire_lease(self, env: str, holder: str, ttl: float) -> bool:
        """Take the writer lease of ``env`` for ``ttl`` seconds when free, expired or already
        ``holder``'s (then it is renewed). False when another holder has it."""
        ...

    def renew_lease(self, env: str, holder: str, ttl: float) -> bool:
        """Extend ``holder``'s lease; False when it expired or another holder took it."""
        ...

    def release_lease(self, env: str, holder: str) -> None:
        """Give the lease up if ``holder`` has it (a no-op otherwise)."""
        ...

    def change_position(self, env: str) -> str:
        """Where the change feed of ``env`` stands now. Taken before a ``read``: every apply
        committed after this call is yielded by ``changes(env, since=it)``, so none falls
        between the read and the feed (one may be seen twice: harmless to a follower)."""
        ...

    def changes(self, env: str, since: str, idle: float) -> Iterator[str]:
        """Block until an apply may have changed ``env`` after position ``since``, then yield
        the new position (and so on). Returns after ``idle`` seconds without a change (call
        again from the last position). Redis: the ``P/{env}/_events`` stream; etcd: its watch;
        SQLite: polling ``PRAGMA data_version`` (any commit, so a yield may be a lease renewal:
        a follower compares ``_meta``). Raises StoreError when the store is lost, ChangesLost
        when the changes after ``since`` are gone (read everything again)."""
        ...

    def close(self) -> None: ...

"""The one thread of a ConfigClient that talks to the store: it reads a state, follows the
store's change feed (``Store.changes``: Redis stream, etcd watch, SQLite data version), and
re-reads whenever ``_meta`` moved. Readers never wait for it: they read the snapshot it swapped
in last.

Every wake-up compares ``_meta`` first (one small read) and reads every value only when it
changed, so lease renewals and audit lines cost nothing. When the store cannot be reached the
thread backs off (0.1 s doubling to ``max_backoff``), and on its return compares ``_meta`` again
(catching up whatever it missed) before it follows the feed from where it was; a feed whose
history is gone (etcd compaction) restarts from the store's present after the same comparison.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from pathlib import Path
from typing import Protocol

from qv_config.client.delta import read_changes, served_index
from qv_config.client.snapshot import Refused, Snapshot, build
from qv_config.store.errors import ChangesLost, StoreError
from qv_config.store.protocol import Store

_FIRST_BACKOFF = 0.1
# The longest a change-feed wait lasts before the thread looks at its stop flag: closing a
# client then takes at most this long (a blocked socket read is not interrupted reliably by
# closing it from another thread). An etcd watch is re-armed from its position each time.
WAKE_SECONDS = 0.5
_UNSET = object()


class Sink(Protocol):
    """Where the thread reports (ConfigClient): it swaps, logs and notifies."""

    @property
    def snapshot(self) -> Snapshot: ...

    def accept(self, snapshot: Snapshot) -> None: ...

    def refuse(self, reason: str) -> None: ...

    def unreachable(self, error: StoreError) -> None: ...

    def reached(self) -> None: ...

    def resync(self, reason: str) -> None: ...


class Follower:
    def __init__(
        self,
        url: str,
        env: str,
        root: Path,
        sink: Sink,
        *,
        idle: float,
        max_backoff: float,
        slug_kinds: dict[str, str],
    ) -> None:
        self.url, self.env, self.root, self.sink = url, env, root, sink
        self.idle, self.max_backoff, self.slug_kinds = idle, max_backoff, slug_kinds
        self._closed = threading.Event()
        self._store: Store | None = None
        self._refused: object = _UNSET  # the raw _meta of the last state refused
        self._thread = threading.Thread(target=self._run, name=f"qv-client-{env}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread: it sees the flag within WAKE_SECONDS and closes its connection
        itself (closing a SQLite connection that another thread is using can crash the
        process, so no other thread ever does)."""
        self._closed.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # ---- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            store, self._store = self._store, None
            if store is not None:
                _quietly_close(store)

    def _loop(self) -> None:
        failures, position = 0, None
        while not self._closed.is_set():
            try:
                store = self._connect()
                if position is None:
                    position = store.change_position(self.env)
                self._check(store)
                failures = 0
                position = self._follow(store, position)
            except ChangesLost as err:
                if not self._closed.is_set():
                    self.sink.resync(err.message)
                position = None  # compare _meta, then follow from the store's present
            except Exception as err:  # StoreError, or a surprise: the thread must go on
                if self._closed.is_set():
                    return
                failures += 1
                self._lost(err)
                self._pause(failures)

    def _follow(self, store: Store, position: str) -> str:
        """Follow the feed until ``idle`` seconds pass without a change (then the caller
        compares ``_meta`` again: a missed event costs at most that long) or the client closes."""
        quiet_until, at = time.monotonic() + self.idle, position
        while not self._closed.is_set() and time.monotonic() < quiet_until:
            for moved in store.changes(self.env, at, WAKE_SECONDS):
                at = moved
                if self._closed.is_set():
                    break
                self._check(store)
                quiet_until = time.monotonic() + self.idle
        return at

    def _connect(self) -> Store:
        if self._store is None:
            from qv_config.store import open_store

            self._store = open_store(self.url, self.root, create=False)
        return self._store

    def _check(self, store: Store) -> None:
        """Compare ``_meta`` with the state served; read and build only when it moved."""
        head = store.read_index(self.env)
        served = self.sink.snapshot
        if head.meta_raw == self._refused or (
            served.meta is not None and head.meta_raw == served.meta_raw
        ):
            self.sink.reached()
            return
        try:
            snapshot = read_changes(store, self.env, head, served, self.slug_kinds)
            if snapshot is None:  # no usable index, or not cheaper: read every value
                state = store.read(self.env)
                snapshot = build(state, self.env, store.url.display, self.slug_kinds, served)
        except Refused as err:
            self._refused = head.meta_raw
            self.sink.reached()
            self.sink.refuse(str(err))
            return
        self._refused = _UNSET
        self.sink.reached()
        self.sink.accept(snapshot)
        served_index(snapshot)  # now, while idle: the next apply's comparison needs it

    def _lost(self, err: Exception) -> None:
        store, self._store = self._store, None
        if store is not None:
            _quietly_close(store)
        if not isinstance(err, StoreError):
            from qv_config.errors import bug_summary

            # Its type and place, never its text (which may hold a value from the store).
            err = StoreError(f"unexpected {bug_summary(err)}")
        self.sink.unreachable(err)

    def _pause(self, failures: int) -> None:
        ceiling = min(self.max_backoff, _FIRST_BACKOFF * 2 ** (failures - 1))
        self._closed.wait(random.uniform(ceiling / 2, ceiling))


def _quietly_close(store: Store) -> None:
    with contextlib.suppress(Exception):
        store.close()

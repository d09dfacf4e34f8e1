"""Watching the store between cycles (SPEC §6: etcd's change events are its native watch).

A daemon thread keeps a watch on ``P/{env}/`` through the etcd v3 JSON gateway, from the revision
of the agent's last full read. A change to a value key in a revision that did not also write
``_meta`` is an out-of-band edit (every qv apply — walk, heal, ``qv sync`` — writes its values
and ``_meta`` in one Txn, so one revision): the thread sets ``wake`` and the loop runs a drift
check (and self-heal) at once instead of at the next interval.

When the history the watch needs is gone (compacted) or the stream is lost, events may have been
missed: the thread asks for a **resync** (a full read, drift, heal) and waits, disarmed, until
the loop's next full read re-arms it from that read's revision. Connection losses are retried
with exponential backoff. The thread never reads or logs values.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from itertools import groupby

from qv_config.agent.jsonlog import JsonLog, said
from qv_config.errors import bug_summary
from qv_config.store import layout
from qv_config.store.errors import StoreError
from qv_config.store.etcd import EtcdStore
from qv_config.store.etcdwatch import WatchCompacted, WatchEvent
from qv_config.store.url import StoreUrl

IDLE_SECONDS = 60.0  # re-arm an idle stream (from the next unseen revision): no half-open hangs
_FIRST_RETRY = 0.2


def out_of_band(events: list[WatchEvent], floor: int) -> list[str]:
    """Keys other than qv's own changed at or after ``floor`` by a revision that did not write
    ``_meta`` (values, and keys written behind qv's back whatever their shape)."""
    keys: list[str] = []
    for _, group in groupby(events, key=lambda ev: ev.revision):
        batch = list(group)
        if batch[0].revision < floor or any(_is_meta(ev.key) for ev in batch):
            continue  # already covered by a full read, or a qv apply (values + _meta, one Txn)
        keys += [ev.key for ev in batch if not layout.is_own_key(ev.key)]
    return keys


def _is_meta(key: str) -> bool:
    return key.endswith("/" + layout.META) and key.count("/") == 1


class Watcher:
    """One watch thread per agent. ``arm``/``take_resync`` are called by the loop's thread."""

    def __init__(
        self,
        url: StoreUrl,
        env: str,
        log: JsonLog,
        wake: threading.Event,
        max_backoff: float,
        connect: Callable[[StoreUrl], EtcdStore] = EtcdStore,
    ) -> None:
        self.url, self.env, self.log, self.wake = url, env, log, wake
        self.max_backoff = max_backoff
        self._connect = connect
        self._cond = threading.Condition()
        self._start: int | None = None  # next revision to watch from; None: disarmed
        self._floor = 0  # revisions below it were covered by a full read
        self._resync: str | None = None  # why a resync is needed (compacted, reconnected)
        self._closed = False
        self._announce = False  # log "watching" when the next stream opens (after an arm)
        self._client: EtcdStore | None = None
        self._thread = threading.Thread(target=self._run, name="qv-agent-watch", daemon=True)
        self._thread.start()

    # ---- the loop's side ------------------------------------------------------------------

    def arm(self, read_revision: int) -> None:
        """The loop read the whole prefix at ``read_revision``: watch after it (if disarmed)."""
        with self._cond:
            self._floor = max(self._floor, read_revision + 1)
            if self._start is None and self._resync is None:
                self._start, self._announce = read_revision + 1, True
                self._cond.notify_all()

    def take_resync(self) -> str | None:
        """The pending resync reason (once); the next ``arm`` restarts the watch."""
        with self._cond:
            reason, self._resync = self._resync, None
            return reason

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # ---- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while (start := self._await_start()) is not None:
            try:
                self._stream(start)
                failures = 0
            except WatchCompacted as err:
                self._need_resync("compacted", start, err.compact_revision)
            except StoreError as err:
                failures = self._reconnect(start, err, failures)
            except Exception as err:  # the thread must survive any surprise
                # Its type and place, never its text (which may hold a value from the store).
                surprise = StoreError(f"unexpected {bug_summary(err)}")
                self.log("error", "watch_failed", error=surprise.message)
                failures = self._reconnect(start, surprise, failures)

    def _await_start(self) -> int | None:
        with self._cond:
            while not self._closed and self._start is None:
                self._cond.wait()
            if self._closed or self._start is None:
                return None
            self._start = max(self._start, self._floor)  # a full read since covers the gap
            return self._start

    def _stream(self, start: int) -> None:
        client = self._client or self._connect(self.url)
        self._client = client
        for events in client.watch(self.env, start, IDLE_SECONDS):
            if self._closed:
                return
            if self._announce:  # the stream is open (etcd answered "created")
                self._announce = False
                self.log("info", "watching", from_revision=start)
            with self._cond:
                if events:  # the next start, were the stream to end now: exact, nothing skipped
                    self._start = max(start, events[-1].revision + 1)
                floor = self._floor
            if out_of_band(events, floor):
                self.wake.set()  # the loop checks drift now; the key names go to its drift log

    def _need_resync(self, reason: str, start: int, compacted: int = 0) -> None:
        with self._cond:
            self._start, self._resync = None, reason
        fields = {"compact_revision": compacted} if compacted else {}
        self.log("warning", "watch_resync_needed", reason=reason, from_revision=start, **fields)
        self.wake.set()

    def _reconnect(self, start: int, err: StoreError, failures: int) -> int:
        """Back off until etcd answers again, then ask for a resync: events may be missing."""
        with self._cond:
            self._start = None
        self._client = None
        self.log("warning", "watch_lost", error=said(err))
        while not self._closed:
            failures += 1
            ceiling = min(self.max_backoff, _FIRST_RETRY * 2 ** (failures - 1))
            with self._cond:
                self._cond.wait(random.uniform(ceiling / 2, ceiling))
            try:
                client = self._connect(self.url)
                compacted = client.compacted_after(start - 1)
            except StoreError:
                continue
            self._client = client
            self._need_resync("compacted" if compacted else "reconnected", start)
            return 0
        return failures

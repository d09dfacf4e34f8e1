"""``ConfigClient(store_url, env)`` (SPEC §9): an environment's configuration and flags, served
from memory and kept current from the store's change events (docs/client.md).

Readers (any number of threads) read ``self._snapshot``, one attribute holding an immutable
Snapshot that the follower thread replaces whole: a reader sees one apply or the next, never
a mix, and never waits for a lock or the network.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from qv_config.client.follow import Follower
from qv_config.client.metrics import ClientCollector, Evaluations, register
from qv_config.client.snapshot import EMPTY, Snapshot
from qv_config.errors import OperationalError
from qv_config.safetext import escape
from qv_config.store.errors import StoreError

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

log = logging.getLogger("qv_config.client")

Context = Mapping[str, Any]
_NO_CONTEXT: Context = {}
_MISSING: Any = object()


class NotReady(OperationalError):
    """No state was loaded yet (the store was not reached, or nothing valid was synced)."""


class NotFound(LookupError):
    """``get(kind, name)`` of a document the served state does not hold."""


@dataclass(frozen=True)
class Update:
    """What a subscriber is told: a new state swapped in, or the staleness changed."""

    event: Literal["updated", "stale", "fresh"]
    revision: str  # the revision served after the event
    digest: str
    previous_revision: str = ""
    changed: tuple[str, ...] = ()  # store keys {env}/{slug}/{name} added, changed or removed
    reason: str = ""  # why stale (unreachable, or a state refused); never a value


class ConfigClient:
    """Read an environment of a qv runtime store, in memory; see docs/client.md."""

    def __init__(
        self,
        store_url: str,
        env: str,
        *,
        root: Path | None = None,
        wait: float = 10.0,
        check_interval: float = 5.0,
        max_backoff: float = 5.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        from qv_config.names import check_env
        from qv_config.render.types import KIND_SLUGS
        from qv_config.store.url import parse_store_url

        check_env(env)
        root = root if root is not None else Path.cwd()
        self.url = parse_store_url(store_url, root)  # a malformed URL is a UsageError now
        self.env = env
        self._snapshot: Snapshot = EMPTY
        self._lock = threading.Lock()  # state changes and subscribers (never readers)
        self._subscribers: list[Callable[[Update], None]] = []
        self._ready = threading.Event()
        self._unreachable: str = ""  # why the store is not answering ("" when it is)
        self._refusing: str = ""  # why the store's latest state was refused
        self._updates: dict[str, int] = {"applied": 0, "refused": 0}
        self.evaluations = Evaluations()
        self._count = self.evaluations.count
        self._unregister = self._metrics(registry)
        slug_kinds = {slug: kind for kind, slug in KIND_SLUGS.items()}
        self._follower = Follower(
            store_url,
            env,
            root,
            self,
            idle=check_interval,
            max_backoff=max_backoff,
            slug_kinds=slug_kinds,
        )
        self._follower.start()
        if wait > 0 and not self.wait_ready(wait):
            why = self._unreachable or self._refusing or "no answer yet"
            self.close()
            raise NotReady(
                f"no state of {env} could be loaded from {self.url.display} in {wait:g} s: {why}",
                hint="check the store URL and that `qv sync --env ENV` ran, or pass wait=0 to"
                " start without a state (readers get NotReady until one loads)",
            )

    def _metrics(self, registry: CollectorRegistry | None) -> Callable[[], None]:
        if registry is None:
            return lambda: None
        collector = ClientCollector(self.env, self.evaluations, self._updates, lambda: self.stale)
        return register(registry, collector)

    # ---- reading (any thread; no lock, no I/O) ---------------------------------------------

    def get(self, kind: str, name: str, default: Any = _MISSING) -> Any:
        """The document ``kind``/``name`` (kind as ``Config`` or its slug ``config``), read-only
        (a dict subclass that refuses changes; ``copy.deepcopy`` gives a mutable one)."""
        doc = self._snapshot.docs.get((kind, name), _MISSING)
        if doc is _MISSING:
            if default is not _MISSING:
                return default
            self._raise_missing(f"{kind}/{name}")
        return doc

    def is_enabled(self, flag: str, context: Context | None = None) -> bool:
        """Whether ``flag`` is on for ``context`` (an Unleash context: userId, sessionId,
        remoteAddress, properties, ...); False for a flag the state does not hold."""
        flags = self._snapshot.flags
        if flags is None:
            self._raise_missing(f"flag {flag}")
        result = flags.is_enabled(flag, context if context is not None else _NO_CONTEXT)
        self._count(self.evaluations.enabled, flag, "true" if result else "false")
        return result

    def variant(self, flag: str, context: Context | None = None) -> Mapping[str, Any]:
        """The variant of ``flag`` for ``context``: keys name, enabled, feature_enabled,
        payload (Unleash's "disabled" variant when the flag is off or unknown)."""
        flags = self._snapshot.flags
        if flags is None:
            self._raise_missing(f"flag {flag}")
        chosen = flags.variant(flag, context if context is not None else _NO_CONTEXT)
        self._count(self.evaluations.variants, flag, str(chosen.get("name", "")))
        return chosen

    def has_flag(self, flag: str) -> bool:
        return flag in self._snapshot.shapes

    def _raise_missing(self, what: str) -> NoReturn:
        if self._snapshot.meta is None:
            raise NotReady(
                f"no state of {self.env} is loaded yet from {self.url.display}"
                + (f" ({self._unreachable or self._refusing})" if self.stale else ""),
                hint="wait for ConfigClient.ready (wait_ready(timeout)) before reading",
            )
        raise NotFound(f"{self.env} has no {what} at revision {self._snapshot.revision[:12]}")

    @property
    def snapshot(self) -> Snapshot:
        """The state served now, whole: several reads of one snapshot see one apply."""
        return self._snapshot

    @property
    def revision(self) -> str:
        return self._snapshot.revision

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def stale(self) -> bool:
        """True while the state served may be behind the store: the store is unreachable, or
        its latest state was refused (the last good one is served meanwhile)."""
        return bool(self._unreachable or self._refusing)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self._ready.wait(timeout)

    # ---- subscribers ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[Update], None]) -> Callable[[], None]:
        """Call ``callback(Update)`` after each new state and each change of staleness, on the
        client's thread (keep it short: the next update waits for it). Returns the function
        that unsubscribes."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def _notify(self, update: Update) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(update)
            except Exception as err:  # a subscriber's bug must not stop the updates
                from qv_config.errors import bug_summary

                log.error("qv client %s: a subscriber failed: %s", self.env, bug_summary(err))

    def _status(self, event: Literal["stale", "fresh"], reason: str = "") -> None:
        snap = self._snapshot
        self._notify(Update(event, snap.revision, snap.digest, reason=reason))

    # ---- the follower's side (its thread only) ----------------------------------------------

    def accept(self, snapshot: Snapshot) -> None:
        old = self._snapshot
        was_stale = self.stale
        # Log before the swap: whoever sees the new state (or staleness) finds its log line.
        log.info(
            "qv client %s: serving revision %s (digest %s) from %s",
            self.env,
            snapshot.revision[:12],
            snapshot.digest[:12],
            self.url.display,
        )
        for warning in getattr(snapshot.flags, "warnings", ()):  # evaluates, but not as meant
            log.warning("qv client %s: flag %s", self.env, warning)
        with self._lock:
            self._snapshot = snapshot  # the swap: one reference, atomic for every reader
            self._refusing = ""
            self._updates["applied"] += 1
        self._ready.set()
        changed = old.changed_keys(snapshot) if old.meta is not None else ()
        self._notify(Update("updated", snapshot.revision, snapshot.digest, old.revision, changed))
        if was_stale and not self.stale:
            self._status("fresh")

    def refuse(self, reason: str) -> None:
        first = not self._refusing
        served = self._snapshot.revision[:12] or "nothing (not ready)"
        # The reason can name a store key, whatever bytes someone wrote there: escaped for logs.
        shown = escape(reason)
        log.warning("qv client %s: refused a state: %s; serving %s", self.env, shown, served)
        with self._lock:
            self._refusing = reason
            self._updates["refused"] += 1
        if first and not self._unreachable:
            self._status("stale", reason)

    def unreachable(self, error: StoreError) -> None:
        if self._unreachable:
            return  # one line per outage, not one per retry
        served = self._snapshot.revision[:12] or "nothing (not ready)"
        log.warning(
            "qv client %s: the store is unreachable (%s); serving %s, stale, until it answers",
            self.env,
            error,
            served,
        )
        self._unreachable = str(error)
        if not self._refusing:
            self._status("stale", str(error))

    def reached(self) -> None:
        if not self._unreachable:
            return
        log.info("qv client %s: the store %s answers again", self.env, self.url.display)
        self._unreachable = ""
        if not self.stale:
            self._status("fresh")

    def resync(self, reason: str) -> None:
        log.warning(
            "qv client %s: change events lost (%s); reading the state again", self.env, reason
        )

    # ---- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop following the store and close its connections (the state stays readable)."""
        self._follower.close()
        self._unregister()
        self._unregister = lambda: None

    def __enter__(self) -> ConfigClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

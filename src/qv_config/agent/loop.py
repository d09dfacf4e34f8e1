"""The sync agent's cycle and loop (SPEC §6): fetch, lease, walk, gate, apply, drift.

One cycle: fetch the mirror; take or renew the writer lease (others stand by); read ``_meta``;
walk the first-parent chain from the deployed revision to the tip; for each state render, ask the
gate, apply (atomic, fenced, minimal, monotonic); then poll drift against the deployed revision
and, with ``self_heal``, restore out-of-band edits. A refusal stops the walk (fail-closed); an
outage backs off exponentially with jitter and leaves the store untouched. Between cycles an etcd
store is watched (``agent.watch``): an out-of-band edit, or a resync after a compacted history or
a lost stream, runs a drift check at once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING, NoReturn

from qv_config.agent import faults
from qv_config.agent.gate import ApprovalGate, GateDecision, Rendered, SignedApprovalGate
from qv_config.agent.health import Health
from qv_config.agent.jsonlog import JsonLog, said
from qv_config.agent.lease import Lease, new_holder
from qv_config.agent.metrics import Metrics
from qv_config.agent.pause import Backoff, StopEvent
from qv_config.agent.refusal import Refusals, WaitingForApproval
from qv_config.agent.source import GitMirror
from qv_config.agent.types import AgentConfig, CycleResult
from qv_config.errors import CheckFailed, GitError, OperationalError, QvError, UsageError
from qv_config.store.errors import MetaCorruptError, StoreError, StoreLost
from qv_config.store.protocol import Store
from qv_config.store.types import DesiredState, Meta

if TYPE_CHECKING:
    from qv_config.agent.heal import HealContext
    from qv_config.agent.watch import Watcher

_RENDER_CACHE = 8


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        log: JsonLog,
        metrics: Metrics,
        health: Health,
        gate: ApprovalGate | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.metrics = metrics
        self.health = health
        self.mirror = GitMirror(config.source, config.cache_dir)
        self.gate: ApprovalGate = gate or SignedApprovalGate(self.mirror)
        self.lease = Lease(config.env, new_holder(), config.lease_ttl)
        self.refusals = Refusals(config.env, f"qv-agent/{self.lease.holder}", log, metrics)
        metrics.waiting.labels(env=config.env).set(0)
        metrics.break_glass.labels(env=config.env).set(0)
        self._wake = threading.Event()  # set by the watch thread and by stop
        self.stop: threading.Event = StopEvent(self._wake)
        self._watcher: Watcher | None = None
        self._watching = False  # run() without --once: watch the store between cycles
        self._store: Store | None = None
        self._renders: dict[tuple[str, bool], DesiredState] = {}
        self._role = "starting"
        self.last: CycleResult | None = None  # the outcome of the latest cycle
        self._drifted: tuple[str, ...] = ()  # keys drifted at the last check (logged once)
        self._deployed: Meta | None = None  # what the store held at the last cycle
        self._lost: StoreLost | None = None  # the store file went away (agent.faults)
        self._restore: StoreLost | None = None  # re-created empty: put _deployed back

    # ---- the loop -------------------------------------------------------------------------

    def run(self, once: bool = False) -> int:
        backoff = Backoff(self.config.interval, self.config.max_backoff)
        self._watching = not once
        self.log("info", "started", holder=self.lease.holder, source=self.mirror.display)
        try:
            while True:
                result = self.cycle()
                if once:
                    return result.exit_code
                if result.status == "error":
                    delay = backoff.next()
                    self.log("warning", "backoff", seconds=round(delay, 2), kind=result.kind)
                else:
                    backoff.reset()
                    delay = self.config.interval
                if self._pause(delay):
                    return 0
        finally:
            self.shutdown()

    def _pause(self, delay: float) -> bool:
        """Wait for the next cycle; a watch wake-up runs a drift check meanwhile. True: stop."""
        deadline = time.monotonic() + delay
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._wake.wait(remaining):
                return self.stop.is_set()
            self._wake.clear()
            if not self.stop.is_set():
                self._watch_check()
        return True

    def _watch_check(self) -> None:
        """Between cycles: drift (and heal) now, as the writer, against the deployed revision."""
        from qv_config.store.apply import read_meta

        try:
            store = self._open()
            if not self._hold_lease(store):
                return
            meta = read_meta(store, self.config.env, store.read_index(self.config.env).meta_raw)
            if meta is not None:
                self._drift(store, meta)
        except QvError as err:  # the next cycle reports it (health, metrics) and re-arms
            if isinstance(err, StoreError):
                self._drop_store()
            self.log("warning", "watch_check_failed", error=said(err))

    def shutdown(self) -> None:
        """Release the lease (others take over at once) and close the store."""
        if self._watcher is not None:
            self._watcher.close()
        store, self._store = self._store, None
        if store is None:
            store = self._store_for_release()
        if store is None:
            return
        try:
            self.lease.release(store)
            self.metrics.lease_held.set(0)
        except StoreError as err:
            self.log("warning", "lease_release_failed", error=said(err))
        finally:
            store.close()
        self.log("info", "stopped", holder=self.lease.holder)

    def _store_for_release(self) -> Store | None:
        """The store again (never created) when it was dropped after an error while the lease
        was ours: the lease is released on every way out, not left to expire (else the next
        ``--once`` is refused as if another agent held it)."""
        if not self.lease.taken:
            return None
        from qv_config.store import open_store

        try:
            return open_store(self._store_url(), self.config.workdir, create=False)
        except (QvError, OSError):
            return None

    # ---- one cycle ------------------------------------------------------------------------

    def cycle(self) -> CycleResult:
        try:
            result = self._cycle()
        except MetaCorruptError as err:
            result = self._refused_meta(err)
        except CheckFailed as err:
            result = CycleResult("refused", message=said(err))
        except GitError as err:
            result = self._error("git", err)
            self._repair_mirror()
        except UsageError as err:  # e.g. the branch does not exist (yet): keep polling for it
            result = replace(self._error("git", err), usage=True)
        except StoreError as err:
            self._drop_store()
            if isinstance(err, StoreLost):
                self._lost = err
                faults.record_lost(err, self.log, self.metrics)
            result = self._error("store", err)
        except OperationalError as err:
            result = self._error("render", err)
        if result.status in ("applied", "idle"):
            self.metrics.waiting.labels(env=self.config.env).set(0)
        if result.status in ("applied", "idle", "waiting", "standby"):
            self.health.success(result.revision, self._role)
            self.metrics.last_success.set(time.time())
        else:
            self.health.failure(result.message, urgent=self._lost is not None)
        self.last = result
        return result

    def _repair_mirror(self) -> None:
        try:
            faults.repair_mirror(self.mirror, self.log, self.metrics)
        except (QvError, OSError) as err:  # the next cycle tries again
            self.log("warning", "mirror_repair_failed", error=str(err))

    def _error(self, kind: str, err: QvError) -> CycleResult:
        self.metrics.errors.labels(kind=kind).inc()
        self.log("error", "cycle_failed", kind=kind, error=said(err))
        return CycleResult("error", message=said(err), kind=kind)

    def _cycle(self) -> CycleResult:
        from qv_config.agent.walk import HistoryRewritten, states_to_apply
        from qv_config.store.apply import read_meta
        from qv_config.store.desiredcache import recorded_schemas

        faults.fetch_mirror(self.mirror, self.log, self.metrics)
        tip = self.mirror.tip(self.config.branch)
        store = self._open()
        if not self._hold_lease(store):
            return CycleResult("standby", message="another agent holds the lease")
        if self._restore is not None:
            self._restore_deleted(store, self._restore)
        meta = read_meta(store, self.config.env, store.read_index(self.config.env).meta_raw)
        try:
            schemas = recorded_schemas(meta.inputs) if meta is not None else ()
            states = states_to_apply(self.mirror, self.config.env, _rev(meta), tip, schemas)
        except HistoryRewritten as err:
            self.refusals.refuse(store, meta, tip, "", said(err))
            raise
        applied, waiting = 0, None
        for rev in states:
            if self.stop.is_set() or not self._hold_lease(store):
                break
            try:
                meta, wrote = self._apply_state(store, meta, rev)
            except WaitingForApproval as stopped:  # not a failure: drift goes on meanwhile
                waiting = stopped
                break
            applied += wrote
        if meta is not None:
            self._deployed = meta
            self.metrics.set_deployed(meta.revision, meta.digest)
            self.metrics.break_glass.labels(env=self.config.env).set(int(bool(meta.break_glass)))
            self._drift(store, meta)
        if waiting is not None:
            return CycleResult("waiting", revision=_rev(meta), message=waiting.message)
        return CycleResult("applied" if applied else "idle", revision=_rev(meta))

    def _hold_lease(self, store: Store) -> bool:
        held = self.lease.ensure(store)
        self.metrics.lease_held.set(1 if held else 0)
        role = "writer" if held else "standby"
        if role != self._role:
            self.log("info", "lease_acquired" if held else "standby", holder=self.lease.holder)
            self._role = role
        return held

    def _open(self) -> Store:
        if self._store is None:
            from qv_config.store import open_store

            faults.may_reopen(self._lost, self.config.self_heal, self.config.env)
            try:
                self._store = open_store(self._store_url(), self.config.workdir)
            except UsageError as err:  # a TLS file of the URL unreadable now: a store problem
                raise StoreError(err.message, hint=err.hint) from None
            self._opened(self._store)
        return self._store

    def _opened(self, store: Store) -> None:
        lost, self._lost = self._lost, None
        self._restore = faults.opened(store, lost, self.log)

    def _restore_deleted(self, store: Store, lost: StoreLost) -> None:
        self._restore = None
        render = lambda rev: self._render(rev, check=False)  # noqa: E731
        faults.restore_deleted(store, lost, self._deployed, render, self._heal_context())

    def _drop_store(self) -> None:
        store, self._store = self._store, None
        self.lease.held = False  # re-acquired (or found still ours) after the outage
        if store is not None:
            # Closing a broken connection may fail any way; the next cycle opens a new one.
            with contextlib.suppress(Exception):
                store.close()

    def _store_url(self) -> str:
        from qv_config.agent.settings import store_url_at

        return store_url_at(self.mirror, self.config)

    # ---- states ---------------------------------------------------------------------------

    def _render(self, rev: str, check: bool = True) -> DesiredState:
        from qv_config.agent.settings import desired_cache_root
        from qv_config.store.source import render_desired

        key = (rev, check)
        if key not in self._renders:
            if len(self._renders) >= _RENDER_CACHE:
                self._renders.pop(next(iter(self._renders)))
            self._renders[key] = render_desired(
                self.mirror.path,
                self.config.env,
                rev,
                check=check,
                cache_root=desired_cache_root(self.config),
            )
        return self._renders[key]

    def _apply_state(self, store: Store, base: Meta | None, rev: str) -> tuple[Meta | None, int]:
        from qv_config.repo.history import is_ancestor
        from qv_config.store import apply_desired
        from qv_config.store.plan import plan_apply

        started = time.perf_counter()
        try:
            desired = self._render(rev)
        except CheckFailed as err:
            self.refusals.refuse(store, base, rev, "", said(err))
            raise
        if base is not None and desired.digest == base.digest:
            return base, 0
        deployed = self._render(base.revision, check=False) if base else None
        changes = plan_apply(deployed.values if deployed else {}, desired.values)
        decision = self.gate.check(
            self.config.env,
            _rev(base),
            rev,
            base.digest if base else None,
            desired.digest,
            changes,
            Rendered(deployed, desired) if deployed else None,
        )
        if not decision.approved:
            self._stop_at_gate(store, base, rev, desired.digest, decision)
        result = apply_desired(
            store,
            desired,
            is_descendant=lambda old, new: is_ancestor(self.mirror.path, old, new),
            applied_by=f"qv-agent/{self.lease.holder}",
            approvals=decision.approvals,
            gated_from=base.digest if base else None,
        )
        self.metrics.apply_duration.observe(time.perf_counter() - started)
        plan = result.plan
        self.log(
            "info",
            "applied",
            revision=rev,
            digest=desired.digest,
            from_revision=_rev(base),
            status=result.status,
            added=len(plan.added),
            changed=len(plan.changed),
            removed=len(plan.deletes),
            approvals=list(decision.approvals),
            seconds=round(time.perf_counter() - started, 4),
        )
        return result.new, int(result.status == "applied")

    def _stop_at_gate(
        self, store: Store, base: Meta | None, rev: str, digest: str, decision: GateDecision
    ) -> NoReturn:
        """The walk stops here: waiting for approvals, or refused when the gate cannot read."""
        self.metrics.waiting.labels(env=self.config.env).set(1)
        if decision.waiting:
            self.refusals.wait(store, base, rev, digest, decision)
            raise WaitingForApproval(decision.reason)
        self.refusals.refuse(store, base, rev, digest, decision.reason)
        raise CheckFailed(f"refused {rev[:12]} for {self.config.env}: {decision.reason}")

    def _refused_meta(self, err: MetaCorruptError) -> CycleResult:
        return CycleResult("refused", message=self.refusals.meta(self._store, err))

    # ---- drift ----------------------------------------------------------------------------

    def _drift(self, store: Store, meta: Meta) -> None:
        from qv_config.agent.heal import check_drift

        recorded = self._render(meta.revision, check=False)
        resync = self._watcher.take_resync() if self._watcher else None
        self._drifted = check_drift(self._heal_context(), store, meta, recorded, self._drifted)
        self._arm_watch(store, resync)

    def _heal_context(self) -> HealContext:
        from qv_config.agent.heal import HealContext
        from qv_config.repo.history import is_ancestor

        return HealContext(
            env=self.config.env,
            self_heal=self.config.self_heal,
            applied_by=f"qv-agent/{self.lease.holder}",
            is_descendant=lambda old, new: is_ancestor(self.mirror.path, old, new),
            metrics=self.metrics,
            log=self.log,
        )

    def _arm_watch(self, store: Store, resync: str | None) -> None:
        """(Re)start the watch after the read drift just made (etcd only; others are polled)."""
        if not self._watching or store.url.scheme not in ("etcd", "etcds"):
            return
        from qv_config.agent.watch import Watcher

        if self._watcher is None:
            self._watcher = Watcher(
                store.url, self.config.env, self.log, self._wake, self.config.max_backoff
            )
        revision = int(getattr(store, "read_revision", 0))
        if resync is not None:
            self.metrics.resyncs.labels(reason=resync).inc()
            self.log("warning", "watch_resync", reason=resync, watch_from=revision + 1)
        self._watcher.arm(revision)


def _rev(meta: Meta | None) -> str | None:
    return meta.revision if meta else None

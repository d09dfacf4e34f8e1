"""Drift checks and self-heal: compare the store with the deployed revision.

Run every cycle (a full read: the same on all three stores, and it cannot miss an edit across a
compacted etcd history or a dropped subscription) and, with etcd, whenever the watch
(``agent.watch``) sees an out-of-band edit or needs a resync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qv_config.agent.jsonlog import JsonLog
from qv_config.agent.metrics import Metrics
from qv_config.store.drift import DriftReport
from qv_config.store.protocol import Store
from qv_config.store.types import DesiredState, Meta

_LOGGED_KEYS = 20


@dataclass(frozen=True)
class HealContext:
    env: str
    self_heal: bool
    applied_by: str
    is_descendant: Callable[[str, str], bool]
    metrics: Metrics
    log: JsonLog


def check_drift(
    ctx: HealContext,
    store: Store,
    meta: Meta,
    recorded: DesiredState,
    previous: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """Set the drift gauge; with self-heal restore the deployed values. Returns the drifted keys
    (logged only when they differ from ``previous``: a standing drift is one line, not one per
    cycle)."""
    from qv_config.store import compute_drift

    state = store.read(ctx.env)
    if state.meta_raw is None:
        return ()
    report = compute_drift(
        ctx.env, meta, state.values, recorded.values, meta.revision, meta.digest, recorded.values
    )
    keys = (*report.modified, *report.missing, *report.unexpected)
    ctx.metrics.drift_keys.set(len(keys))
    if not keys:
        return ()
    if keys != previous or ctx.self_heal:
        _log_drift(ctx, meta, report, len(keys))
    if ctx.self_heal:
        _heal(ctx, store, meta, recorded, len(keys))
        return ()
    return keys


def _log_drift(ctx: HealContext, meta: Meta, report: DriftReport, count: int) -> None:
    ctx.log(
        "warning",
        "drift",
        revision=meta.revision,
        modified=list(report.modified[:_LOGGED_KEYS]),
        missing=list(report.missing[:_LOGGED_KEYS]),
        unexpected=list(report.unexpected[:_LOGGED_KEYS]),
        count=count,
    )


def _heal(ctx: HealContext, store: Store, meta: Meta, recorded: DesiredState, count: int) -> None:
    from qv_config.store import apply_desired

    if recorded.digest != meta.digest:
        ctx.log(
            "error",
            "heal_skipped",
            revision=meta.revision,
            reason="the deployed revision renders to another digest than _meta records",
        )
        return
    result = apply_desired(
        store,
        recorded,
        is_descendant=ctx.is_descendant,
        applied_by=ctx.applied_by,
        approvals=meta.approvals,
        reason=f"self-heal: restored {count} out-of-band edit(s)",
        heal=True,
    )
    ctx.metrics.healed.inc(count)
    ctx.metrics.drift_keys.set(0)
    plan = result.plan
    ctx.log(
        "info",
        "healed",
        revision=meta.revision,
        restored=len(plan.added) + len(plan.changed),
        removed=len(plan.deletes),
    )

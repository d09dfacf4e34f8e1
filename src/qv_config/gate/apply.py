"""`qv sync` through the gate: apply a rendered state only when its approvals are met.

The agent walks state by state and waits; a person running ``qv sync`` gets an answer at once:
exit 1 naming the missing rules, nothing applied, an audit entry. ``--break-glass --reason``
applies anyway and says so in ``_meta`` (``break_glass``: the reason) and the audit entry
(``break_glass: true``, who, the reason and the rules that were missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from qv_config.errors import CheckFailed
from qv_config.store.protocol import Store
from qv_config.store.types import ApplyResult, DesiredState, Meta


class ApprovalsMissing(CheckFailed):
    """The gate did not let the state through (approvals missing, or unreadable)."""


@dataclass(frozen=True)
class SyncRequest:
    """How ``qv sync`` asks for one apply (the options the gate and the apply need)."""

    by: str  # who applies: recorded in _meta and the audit log
    dry_run: bool = False
    heal: bool = False
    break_glass: str = ""  # the reason, when applying without the approvals is on purpose


def gated_apply(root: Path, store: Store, desired: DesiredState, req: SyncRequest) -> ApplyResult:
    """Apply ``desired`` when the policy of the deployed state lets it through."""
    from qv_config.store import apply_desired
    from qv_config.store.apply import read_meta
    from qv_config.store.gitrev import descendant_checker

    old = read_meta(store, desired.env, store.read_index(desired.env).meta_raw)
    approvals, glass, reason = _pass(root, store, desired, old, req)
    return apply_desired(
        store,
        desired,
        is_descendant=descendant_checker(root),
        applied_by=req.by,
        approvals=approvals,
        dry_run=req.dry_run,
        heal=req.heal,
        reason=reason,
        break_glass=glass,
        gated_from=old.digest if old else None,
    )


def _pass(
    root: Path, store: Store, desired: DesiredState, old: Meta | None, req: SyncRequest
) -> tuple[tuple[str, ...], str, str]:
    """(approvals, break-glass reason, audit reason) of an apply the gate lets through."""
    from qv_config.gate.check import check

    heal = "heal: restored edits made outside qv" if req.heal else ""
    if old is not None and old.digest == desired.digest:
        return (), "", heal  # the deployed state: nothing new goes in
    base_rev, base_digest = (old.revision, old.digest) if old else (None, None)
    decision = check(root, desired.env, base_rev, base_digest, desired.revision, desired.digest)
    if decision.approved:
        return decision.approvals, "", heal
    if req.break_glass:
        missing = "; ".join(decision.missing) or decision.reason
        return decision.approvals, req.break_glass, f"break-glass: {req.break_glass} ({missing})"
    first = old is None and decision.waiting
    if req.dry_run:  # says what the gate would say; writes nothing, not even the refusal
        raise ApprovalsMissing(
            f"dry run: the gate would refuse {desired.revision[:12]} in {desired.env}:"
            f" {decision.reason}",
            hint=_first_deploy_hint(desired.env)
            if first
            else _hint(desired.env, desired.revision[:12]),
        )
    _refuse(store, desired, old, req.by, decision.reason, first=first)


def _refuse(
    store: Store, desired: DesiredState, old: Meta | None, by: str, reason: str, *, first: bool
) -> NoReturn:
    from qv_config.store.apply import record_refusal

    record_refusal(store, desired, old, by, reason)
    env, rev = desired.env, desired.revision[:12]
    raise ApprovalsMissing(
        f"refusing to apply {rev} to {env}: {reason}; nothing was applied",
        hint=_first_deploy_hint(env) if first else _hint(env, rev),
    )


def _hint(env: str, rev: str) -> str:
    return (
        f"get the approvals (`qv approvals --env {env} --rev {rev}` says what is missing),"
        " or in an emergency apply anyway, recorded as such: `qv sync --break-glass --reason TEXT`"
    )


def _first_deploy_hint(env: str) -> str:
    # The reason says what to run (a statement binds a base digest, and a first deploy has none).
    return (
        f"a break-glass first deploy of {env} is recorded as such; later changes are approved"
        ' as usual (docs/agent.md, "First deploys")'
    )

"""Applying a desired state once: atomic, fenced, minimal, monotonic (SPEC §6), and rollback."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from qv_config.store import layout
from qv_config.store.errors import ApplyRefused, FenceConflict, StoreError, TooLargeError
from qv_config.store.index import (
    DesiredIndex,
    decode_top,
    desired_index,
    listed_shards,
    plan_from_shards,
)
from qv_config.store.plan import plan_apply
from qv_config.store.protocol import Store
from qv_config.store.types import (
    Action,
    ApplyResult,
    AuditEntry,
    Commit,
    DesiredState,
    IndexState,
    IndexWrite,
    Meta,
    Plan,
)

IsDescendant = Callable[[str, str], bool]
_RETRIES = 5


def read_meta(store: Store, env: str, raw: bytes | None) -> Meta | None:
    if raw is None:
        return None
    return layout.decode_meta(raw, layout.meta_key(store.url.prefix, env), store.repair_hint(env))


def _entry(
    action: Action, desired: DesiredState, old: Meta | None, by: str, **extra: object
) -> AuditEntry:
    return AuditEntry(
        action=action,
        env=desired.env,
        revision=desired.revision,
        digest=desired.digest,
        at=layout.now(),
        by=by,
        from_revision=old.revision if old else None,
        from_digest=old.digest if old else None,
        **extra,  # type: ignore[arg-type]
    )


def record_refusal(
    store: Store, desired: DesiredState, old: Meta | None, by: str, reason: str
) -> None:
    """An audit entry saying why ``desired`` was not applied over ``old``."""
    store.append_audit(desired.env, _entry("refused", desired, old, by, reason=reason))


def _check_monotonic(
    store: Store, desired: DesiredState, old: Meta | None, by: str, is_descendant: IsDescendant
) -> None:
    if old is None or old.revision == desired.revision:
        return
    if is_descendant(old.revision, desired.revision):
        return
    reason = (
        f"{desired.revision[:12]} is not a descendant of the deployed revision {old.revision[:12]}"
    )
    record_refusal(store, desired, old, by, reason)
    raise ApplyRefused(
        f"refusing to apply to {desired.env}: {reason}",
        hint=f"sync a revision that contains {old.revision[:12]}, or go back on purpose with "
        f"`qv rollback --env {desired.env} --to REV --reason TEXT`",
    )


def _plan(
    store: Store,
    desired: DesiredState,
    dindex: DesiredIndex,
    head: IndexState,
    old: Meta | None,
    heal: bool,
) -> tuple[Plan, object, IndexWrite]:
    """Plan from the hash index when it is there (reads the few shards that differ).

    Healing must see the values themselves (out-of-band edits never touch the index), and a
    missing or stale index falls back to the full read: slower, never wrong.
    """
    top = None if heal else decode_top(head.index_raw, old)
    if top is not None:
        differing = dindex.differing(top)
        # Shards the top does not list are treated as empty: a stray shard key is never trusted.
        wanted = [s for s in differing if s in top.shards]
        stored = store.read_index_shards(desired.env, wanted) if wanted else {}
        plan = plan_from_shards(dindex, differing, stored, desired.values)
        return plan, head.token, dindex.write_over(top, differing)
    state = store.read(desired.env)
    if state.meta_raw != head.meta_raw:
        raise FenceConflict("_meta changed between two reads: another writer applied")
    plan = plan_apply(state.values, desired.values)
    return plan, state.token, dindex.full_write(listed_shards(head.index_raw))


def unchanged_inputs(store: Store, env: str, inputs: Callable[[str], str]) -> ApplyResult | None:
    """ "unchanged" when the store's ``_meta`` records the tip's input stamp (``store.
    desiredcache.stamp_of``: the qv version, the environment and the Git ids of everything it
    renders from and is checked against; ``inputs`` gives it for a recorded one, ``tip_stamp``):
    those inputs render to the deployed digest, and validate as it did, so ``apply_desired``
    would write nothing. None: render and apply. Known before any file is read or rendered, as
    for ``qv drift`` (SPEC §6: an unchanged digest writes nothing)."""
    head = store.read_index(env)
    old = read_meta(store, env, head.meta_raw)
    if old is None or not old.inputs or old.inputs != inputs(old.inputs):
        return None
    return ApplyResult(env, "unchanged", plan_apply({}, {}), old, old)


def apply_desired(
    store: Store,
    desired: DesiredState,
    *,
    is_descendant: IsDescendant,
    applied_by: str,
    approvals: Sequence[str] = (),
    action: Action = "apply",
    reason: str = "",
    dry_run: bool = False,
    heal: bool = False,
    break_glass: str = "",
    gated_from: str | Literal["any"] | None = "any",
) -> ApplyResult:
    """Apply ``desired`` in one transaction; re-plan when another writer got in first.

    ``action="rollback"`` skips the descendant check (the caller checked the audit log).
    ``heal=True`` writes even when the digest is unchanged (restoring out-of-band edits).
    ``break_glass``: the reason this state goes in without the approvals it needs (recorded).
    ``gated_from``: the deployed digest the approval gate checked ``desired`` against (None:
    nothing deployed); when another writer moved the store meanwhile nothing is written,
    because approvals bind to their base.
    """
    # Hashed once (or taken from the renderer): plans every attempt and is the new index.
    hashes = layout.value_hashes(desired.values, desired.hashes)
    # Bound to the _meta written with it (``_new_meta``: the same digest, revision and stamp).
    dindex = desired_index((desired.digest, desired.revision, desired.inputs), hashes)
    for attempt in range(1, _RETRIES + 1):
        head = store.read_index(desired.env)
        old = read_meta(store, desired.env, head.meta_raw)
        new = _new_meta(desired, old, applied_by, approvals, break_glass)
        if old is not None and old.digest == desired.digest and not heal:
            return ApplyResult(desired.env, "unchanged", plan_apply({}, {}), old, old, attempt)
        _check_gated(desired, old, gated_from)
        if action == "apply":
            _check_monotonic(store, desired, old, applied_by, is_descendant)
        try:
            plan, token, index = _plan(store, desired, dindex, head, old, heal)
        except FenceConflict:
            continue
        if heal and plan.empty and old is not None and old.digest == desired.digest:
            return ApplyResult(desired.env, "unchanged", plan, old, old, attempt)  # nothing drifted
        if dry_run:
            return ApplyResult(desired.env, "dry-run", plan, old, new, attempt)
        entry = _entry(
            action,
            desired,
            old,
            applied_by,
            reason=reason,
            added=len(plan.added),
            changed=len(plan.changed),
            removed=len(plan.deletes),
            approvals=new.approvals,
            break_glass=bool(new.break_glass),
        )
        event = layout.encode_event(new, desired.env)
        change = Commit(plan, layout.encode_meta(new), entry, event, token, index)
        try:
            store.commit(desired.env, change)
        except FenceConflict:
            continue
        except TooLargeError as err:
            record_refusal(store, desired, old, applied_by, str(err))
            raise
        return ApplyResult(desired.env, "applied", plan, old, new, attempt)
    raise StoreError(
        f"another writer kept applying to {desired.env} during {_RETRIES} attempts; nothing was"
        " written by this one",
        hint="check which agents or users sync this environment, then retry",
    )


def _new_meta(
    desired: DesiredState,
    old: Meta | None,
    by: str,
    approvals: Sequence[str],
    break_glass: str,
) -> Meta:
    """The ``_meta`` to write. A heal re-writing the deployed digest keeps what was recorded of
    how it got there (its approvers, its break-glass reason): it is the same state."""
    if old is not None and old.digest == desired.digest:
        approvals, break_glass = approvals or old.approvals, break_glass or old.break_glass
    return Meta(
        desired.revision,
        desired.digest,
        layout.now(),
        by,
        tuple(approvals),
        desired.inputs,
        break_glass,
    )


def _check_gated(desired: DesiredState, old: Meta | None, gated_from: str | None) -> None:
    if gated_from in ("any", old.digest if old else None):
        return
    raise StoreError(
        f"the state deployed in {desired.env} changed while the approvals of"
        f" {desired.revision[:12]} were checked (another writer applied); nothing was written",
        hint="run the command again: the approvals are checked against what is deployed now",
    )


def rollback_target(store: Store, env: str, to: str, full_sha: str | None) -> AuditEntry:
    """The newest audit entry that deployed ``to`` (a revision, its prefix, or a digest prefix)
    through its gate: a state that went in only with ``--break-glass`` was never approved, so
    going back to it would skip the approvals a rollback relies on (SPEC §6)."""
    deployed = [e for e in store.audit(env) if e.action in ("apply", "rollback")]
    matching = [e for e in deployed if _names(e, to, full_sha)]
    for entry in matching:
        if not entry.break_glass:
            return entry
    if matching:
        raise ApplyRefused(
            f"{to!r} was deployed to {env} only with --break-glass, never approved, so a"
            " rollback (which needs no approvals) cannot go back to it",
            hint="get it approved (`qv approvals --env ENV --rev REV` says what is missing)",
        )
    seen: dict[str, str] = {}
    for entry in deployed:
        seen.setdefault(entry.revision, entry.digest)
    choices = ", ".join(f"{r[:12]} (digest {d[:12]})" for r, d in list(seen.items())[:10])
    raise ApplyRefused(
        f"{to!r} was never deployed to {env}, so it cannot be rolled back to",
        hint=f"states deployed before: {choices}" if choices else "nothing was deployed yet",
    )


def _names(entry: AuditEntry, to: str, full_sha: str | None) -> bool:
    if full_sha and entry.revision == full_sha:
        return True
    return len(to) >= 7 and (entry.revision.startswith(to) or entry.digest.startswith(to))

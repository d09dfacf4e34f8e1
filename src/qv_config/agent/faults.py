"""What the agent does when its own files fail under it (docs/agent.md, "Faults").

- **The SQLite store file is deleted or replaced** while the agent has it open (the store notices:
  ``StoreLost``). The connection is dropped, ``qv_agent_store_lost_total{reason}`` counts it, a
  ``store_lost`` line says so and ``/healthz`` fails at once. A *replaced* file (a restored backup)
  is reopened on the next cycle (``store_reopened``) and read as it is. A *deleted* file is never
  re-created silently as if the store were new: without ``--self-heal`` the agent waits, failing
  every cycle with the fix, until the file is back (restored, or ``qv sync``); with
  ``--self-heal`` it re-creates it and restores the revision it had deployed
  (``store_recreated``, an audit entry saying why), then walks on to the tip through the gate.
- **The Git mirror is damaged** (a truncated pack, deleted objects, a garbage ``HEAD``): after a
  Git error the mirror is checked (``git fsck --connectivity-only``); a damaged one is moved away
  and cloned again (``mirror_corrupt``, ``mirror_recloned``, ``qv_agent_mirror_reclones_total``).
- **The Git mirror was not made by this agent** (committed into the checkout that is the
  workdir, copied, edited: ``agent.mirrormark``): before any git runs in it, it is moved away and
  cloned again (``mirror_untrusted``, counted as a re-clone).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.agent.jsonlog import said
from qv_config.errors import GitError
from qv_config.store.errors import StoreError, StoreLost

if TYPE_CHECKING:
    from qv_config.agent.heal import HealContext
    from qv_config.agent.jsonlog import JsonLog
    from qv_config.agent.metrics import Metrics
    from qv_config.agent.source import GitMirror
    from qv_config.store.protocol import Store
    from qv_config.store.types import DesiredState, Meta


def record_lost(err: StoreLost, log: JsonLog, metrics: Metrics) -> None:
    metrics.store_lost.labels(reason=err.reason).inc()
    log("error", "store_lost", path=err.path, reason=err.reason, moved_aside=list(err.aside))


def may_reopen(lost: StoreLost | None, self_heal: bool, env: str) -> None:
    """Refuse to open a store whose file was deleted under the agent, unless self-healing."""
    if lost is None or lost.reason != "deleted" or self_heal or Path(lost.path).exists():
        return
    raise StoreError(
        f"the SQLite store file {lost.path} was deleted while the agent ran; not re-created",
        hint=f"restore the file, run `qv sync --env {env}`, or run the agent with --self-heal"
        " to re-create it at the deployed revision",
    )


def fetch_mirror(mirror: GitMirror, log: JsonLog, metrics: Metrics) -> None:
    """Fetch the mirror, first moving away one this agent did not make (git never runs in it:
    its hooks and config would run code)."""
    foreign = mirror.foreign()
    if foreign is not None:
        metrics.mirror_reclones.inc()
        log("error", "mirror_untrusted", path=str(mirror.path), reason=foreign)
        mirror.discard()
    mirror.fetch()


def repair_mirror(mirror: GitMirror, log: JsonLog, metrics: Metrics) -> None:
    """After a Git error: a damaged mirror is moved away and cloned again now (or, when the
    source is unreachable too, by the next cycle's fetch)."""
    damage = mirror.damage()
    if damage is None:
        return
    metrics.mirror_reclones.inc()
    log("error", "mirror_corrupt", path=str(mirror.path), error=damage)
    mirror.discard()
    try:
        mirror.fetch()
    except GitError as err:
        log("warning", "mirror_reclone_failed", error=said(err))
        return
    log("info", "mirror_recloned", path=str(mirror.path))


def opened(store: Store, lost: StoreLost | None, log: JsonLog) -> StoreLost | None:
    """Say when an open made a new SQLite file, or came back after the file went away; returns
    the loss to restore from when the file was re-created (only with --self-heal)."""
    created = bool(getattr(store, "created", False))
    path = str(getattr(store.url, "path", ""))
    if lost is None:
        if created:
            log("info", "store_created", path=path)
        return None
    if created:
        return lost
    log("warning", "store_reopened", path=path, reason=lost.reason)
    return None


def restore_deleted(
    store: Store,
    lost: StoreLost,
    meta: Meta | None,
    render: Callable[[str], DesiredState],
    ctx: HealContext,
) -> None:
    """With ``--self-heal``: put the deployed revision back into a store re-created empty."""
    from qv_config.store import apply_desired

    ctx.log("warning", "store_recreated", path=lost.path, revision=meta.revision if meta else None)
    if meta is None:
        return  # nothing was deployed yet: the walk deploys the tip, as a first deploy
    desired = render(meta.revision)
    if desired.digest != meta.digest:
        ctx.log("error", "heal_skipped", revision=meta.revision, reason="renders another digest")
        return
    apply_desired(
        store,
        desired,
        is_descendant=ctx.is_descendant,
        applied_by=ctx.applied_by,
        approvals=meta.approvals,
        reason=f"self-heal: {lost.path} was deleted while the agent ran; re-created at the"
        " deployed revision",
        heal=True,
    )

"""Drift (SPEC §6): out-of-band edits against the recorded revision; pending changes to the tip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qv_config.store.plan import compare, plan_apply
from qv_config.store.types import Meta, Plan

if TYPE_CHECKING:
    from qv_config.diff.model import EnvDiff


@dataclass(frozen=True)
class DriftReport:
    env: str
    recorded: Meta | None
    modified: tuple[str, ...]  # in the store with a value other than the recorded revision's
    missing: tuple[str, ...]  # desired at the recorded revision, absent from the store
    unexpected: tuple[str, ...]  # in the store, not desired at the recorded revision
    tip_revision: str
    tip_digest: str
    pending: Plan  # recorded revision -> branch tip (not drift: waiting for sync)
    # The modified keys field by field, deployed -> found (store/driftfields.py; None: not read)
    fields: EnvDiff | None = None

    @property
    def out_of_band(self) -> bool:
        return bool(self.modified or self.missing or self.unexpected)


def compute_drift(
    env: str,
    recorded: Meta | None,
    store_values: Mapping[str, bytes],
    recorded_desired: Mapping[str, bytes],
    tip_revision: str,
    tip_digest: str,
    tip_desired: Mapping[str, bytes],
) -> DriftReport:
    oob = plan_apply(store_values, recorded_desired)
    pending = plan_apply(recorded_desired, tip_desired)
    return _report(env, recorded, oob, tip_revision, tip_digest, pending)


def compute_drift_hashes(
    env: str,
    recorded: Meta | None,
    store_hashes: Mapping[str, str],
    recorded_hashes: Mapping[str, str],
    tip_revision: str,
    tip_digest: str,
    tip_hashes: Mapping[str, str],
) -> DriftReport:
    """``compute_drift`` from per-key sha256 instead of values (the desired ones may come from
    store/desiredcache.py, with nothing rendered). The same report, except that the pending
    plan's ``puts`` map each key to ``b""``: drift reports keys, never values."""
    oob = plan_hashes(store_hashes, recorded_hashes)
    pending = plan_hashes(recorded_hashes, tip_hashes)
    return _report(env, recorded, oob, tip_revision, tip_digest, pending)


def _report(
    env: str, recorded: Meta | None, oob: Plan, tip_revision: str, tip_digest: str, pending: Plan
) -> DriftReport:
    """Store against the recorded revision (``oob``: its puts are the edits), and pending."""
    return DriftReport(
        env=env,
        recorded=recorded,
        modified=oob.changed,
        missing=oob.added,
        unexpected=oob.deletes,
        tip_revision=tip_revision,
        tip_digest=tip_digest,
        pending=pending,
    )


def plan_hashes(current: Mapping[str, str], desired: Mapping[str, str]) -> Plan:
    """``plan_apply`` over hashes; ``puts`` holds the keys to write with empty placeholders."""
    return compare(current, desired, lambda _key: b"")

"""Drift (SPEC §6): out-of-band edits against the recorded revision; pending changes to the tip."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qv_config.store.plan import plan_apply
from qv_config.store.types import Meta, Plan


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
    return DriftReport(
        env=env,
        recorded=recorded,
        modified=oob.changed,
        missing=oob.added,
        unexpected=oob.deletes,
        tip_revision=tip_revision,
        tip_digest=tip_digest,
        pending=plan_apply(recorded_desired, tip_desired),
    )

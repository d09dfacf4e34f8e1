"""What the agent records when it does not apply a state: refusals and waits for approvals.

A refusal (an invalid state, a rewritten history, a gate that cannot read what governs the
change, an unparseable ``_meta``) logs every cycle and writes one audit entry per (deployed,
target, reason). Waiting for approvals is not a failure: one log line naming the missing rules
and one audit entry each time what is missing changes, never one per poll.
"""

from __future__ import annotations

from qv_config.agent.jsonlog import JsonLog, said
from qv_config.agent.metrics import Metrics
from qv_config.errors import CheckFailed, QvError
from qv_config.gate.check import GateDecision
from qv_config.store.errors import StoreError
from qv_config.store.protocol import Store
from qv_config.store.types import AuditEntry, Meta


class WaitingForApproval(CheckFailed):
    """The walk stopped at a state whose approvals are missing; it waits for them there."""


class Refusals:
    def __init__(self, env: str, by: str, log: JsonLog, metrics: Metrics) -> None:
        self.env = env
        self.by = by
        self.log = log
        self.metrics = metrics
        self._seen: set[tuple[str, str, str]] = set()

    def refuse(self, store: Store, base: Meta | None, rev: str, digest: str, reason: str) -> None:
        """Audit entry, log line and metric, the entry once per (deployed, target, reason)."""
        self.metrics.refused.inc()
        self.log("error", "refused", revision=rev, from_revision=_rev(base), reason=reason)
        if self._first(base, rev, reason):
            store.append_audit(self.env, self._entry(base, rev, digest, reason))

    def wait(
        self, store: Store, base: Meta | None, rev: str, digest: str, gate: GateDecision
    ) -> None:
        """Say once what ``rev`` waits for (again when it changes: an approval arrived)."""
        if not self._first(base, rev, gate.reason):
            return
        self.metrics.refused.inc()
        self.log(
            "warning",
            "waiting_for_approval",
            revision=rev,
            from_revision=_rev(base),
            missing=list(gate.missing),
            approvals=list(gate.approvals),
            ignored=list(gate.ignored),
            reason=gate.reason,
        )
        store.append_audit(self.env, self._entry(base, rev, digest, gate.reason))

    def meta(self, store: Store | None, err: QvError) -> str:
        """An unparseable ``_meta``: refused, audited once when the store can still be written."""
        self.metrics.refused.inc()
        reason = said(err)
        self.log("error", "refused", reason=reason)
        if store is not None and ("_meta", "", reason) not in self._seen:
            self._seen.add(("_meta", "", reason))
            entry = AuditEntry("refused", self.env, "?", "?", _now(), self.by, reason=reason)
            try:
                store.append_audit(self.env, entry)
            except StoreError as failed:
                self.log("warning", "audit_failed", error=said(failed))
        return reason

    def _first(self, base: Meta | None, rev: str, reason: str) -> bool:
        key = (_rev(base) or "", rev, reason)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _entry(self, base: Meta | None, rev: str, digest: str, reason: str) -> AuditEntry:
        return AuditEntry(
            action="refused",
            env=self.env,
            revision=rev,
            digest=digest,
            at=_now(),
            by=self.by,
            from_revision=_rev(base),
            from_digest=base.digest if base else None,
            reason=reason,
        )


def _now() -> str:
    from qv_config.store import layout

    return layout.now()


def _rev(meta: Meta | None) -> str | None:
    return meta.revision if meta else None

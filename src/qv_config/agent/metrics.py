"""The agent's Prometheus metrics, in a registry of their own (no process-global state)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ERROR_KINDS = ("git", "store", "render")
RESYNC_REASONS = ("compacted", "reconnected")
STORE_LOST_REASONS = ("deleted", "replaced")


@dataclass(frozen=True)
class Metrics:
    registry: Any
    apply_duration: Any
    last_success: Any
    deployed: Any
    drift_keys: Any
    refused: Any
    errors: Any
    lease_held: Any
    healed: Any
    resyncs: Any
    store_lost: Any
    mirror_reclones: Any
    waiting: Any  # labelled by env: 1 while the walk waits at a state the gate did not pass
    break_glass: Any  # labelled by env: 1 while the deployed state went in by break-glass

    def set_deployed(self, revision: str, digest: str) -> None:
        self.deployed.clear()  # one series: the revision deployed now, not every one ever seen
        self.deployed.labels(revision=revision, digest=digest).set(1)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


def new_metrics() -> Metrics:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    reg = CollectorRegistry()
    errors = _counter(reg, "qv_agent_errors", "Failed cycles by cause.", "kind", ERROR_KINDS)
    resyncs = _counter(
        reg,
        "qv_agent_watch_resyncs",
        "Full resyncs of the store watch (history compacted, stream reconnected).",
        "reason",
        RESYNC_REASONS,
    )
    store_lost = _counter(
        reg,
        "qv_agent_store_lost",
        "The SQLite store file was deleted or replaced under the agent.",
        "reason",
        STORE_LOST_REASONS,
    )
    return Metrics(
        registry=reg,
        apply_duration=Histogram(
            "qv_agent_apply_duration_seconds",
            "Time to render, check and apply one state.",
            registry=reg,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        ),
        last_success=Gauge(
            "qv_agent_last_success_timestamp_seconds",
            "Unix time of the last successful cycle.",
            registry=reg,
        ),
        deployed=Gauge(
            "qv_agent_deployed_revision_info",
            "The revision and digest deployed in the store.",
            ["revision", "digest"],
            registry=reg,
        ),
        drift_keys=Gauge(
            "qv_agent_drift_keys", "Keys edited outside qv (last drift check).", registry=reg
        ),
        refused=Counter(
            "qv_agent_refused_applies", "States refused (approvals, history, _meta).", registry=reg
        ),
        errors=errors,
        lease_held=Gauge(
            "qv_agent_lease_held", "1 when this agent holds the writer lease.", registry=reg
        ),
        healed=Counter(
            "qv_agent_healed_keys", "Out-of-band edits restored by --self-heal.", registry=reg
        ),
        resyncs=resyncs,
        store_lost=store_lost,
        mirror_reclones=Counter(
            "qv_agent_mirror_reclones",
            "Git mirrors found damaged (fsck) and cloned again.",
            registry=reg,
        ),
        waiting=Gauge(
            "qv_agent_waiting_for_approval",
            "1 while the walk waits at a state whose approvals are missing (or unreadable).",
            ["env"],
            registry=reg,
        ),
        break_glass=Gauge(
            "qv_agent_break_glass_deployed",
            "1 while the deployed state was applied with --break-glass (never approved).",
            ["env"],
            registry=reg,
        ),
    )


def _counter(reg: Any, name: str, text: str, label: str, values: tuple[str, ...]) -> Any:
    """A labelled counter whose series are exported at 0 from the start (alerts can rate())."""
    from prometheus_client import Counter

    counter = Counter(name, text, [label], registry=reg)
    for value in values:
        counter.labels(**{label: value})
    return counter

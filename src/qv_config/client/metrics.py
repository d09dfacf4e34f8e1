"""Evaluation counts of a ConfigClient, per flag and result or variant, and its Prometheus
collector (optional: ``ConfigClient(..., registry=REGISTRY)``).

An evaluation adds one to a dict under a lock (~0.2 µs); Prometheus reads the counts when it
scrapes, through a collector, so no evaluation touches the registry's own locks and label maps
(``Counter.labels(...).inc()`` costs microseconds, the whole budget of ``is_enabled``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

# A caller may ask for any flag name: names beyond this many are counted as one, so that a
# stream of unknown names cannot grow the metrics without bound.
MAX_SERIES = 10_000
OTHER = "_other"


class Evaluations:
    """Thread-safe counts: ``(flag, result)`` for is_enabled, ``(flag, variant)`` for variant."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.enabled: dict[tuple[str, str], int] = {}
        self.variants: dict[tuple[str, str], int] = {}

    def count(self, table: dict[tuple[str, str], int], flag: str, label: str) -> None:
        key = (flag, label)
        with self._lock:
            if key not in table and len(table) >= MAX_SERIES:
                key = (OTHER, label)
            table[key] = table.get(key, 0) + 1

    def copy(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        with self._lock:
            return dict(self.enabled), dict(self.variants)


class ClientCollector:
    """What one client exports: evaluations, variants, updates applied and refused, staleness."""

    def __init__(
        self,
        env: str,
        evaluations: Evaluations,
        updates: dict[str, int],
        stale: Callable[[], bool],
    ) -> None:
        self.env, self.evaluations, self.updates, self.stale = env, evaluations, updates, stale

    def describe(self) -> list[Any]:
        return []  # checked at scrape time; a registry takes it as "names unknown in advance"

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        enabled, variants = self.evaluations.copy()
        evals = CounterMetricFamily(
            "qv_client_flag_evaluations",
            "is_enabled() calls per flag and result.",
            labels=["env", "flag", "result"],
        )
        for (flag, result), n in sorted(enabled.items()):
            evals.add_metric([self.env, flag, result], n)
        chosen = CounterMetricFamily(
            "qv_client_flag_variants",
            "variant() calls per flag and variant returned.",
            labels=["env", "flag", "variant"],
        )
        for (flag, variant), n in sorted(variants.items()):
            chosen.add_metric([self.env, flag, variant], n)
        updates = CounterMetricFamily(
            "qv_client_updates",
            "States read from the store: applied (swapped in) or refused (last good kept).",
            labels=["env", "outcome"],
        )
        for outcome in ("applied", "refused"):
            updates.add_metric([self.env, outcome], self.updates.get(outcome, 0))
        stale = GaugeMetricFamily(
            "qv_client_stale",
            "1 while the state served may be behind the store (unreachable, or refused).",
            labels=["env"],
        )
        stale.add_metric([self.env], 1 if self.stale() else 0)
        yield from (evals, chosen, updates, stale)


def register(registry: CollectorRegistry, collector: ClientCollector) -> Callable[[], None]:
    """Register ``collector``; returns what unregisters it (the client's close)."""
    registry.register(collector)
    return lambda: registry.unregister(collector)

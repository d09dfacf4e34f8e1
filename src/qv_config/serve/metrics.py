"""Prometheus metrics of ``qv serve`` (beside the client's own, in the same registry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0, 10.0, 60.0)


class ServeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Histogram

        self.registry = registry
        self.requests = Counter(
            "qv_serve_requests", "HTTP requests by route family and status", ["route", "status"],
            registry=registry,
        )  # fmt: skip
        self.seconds = Histogram(
            "qv_serve_request_seconds", "time to answer, by route family", ["route"],
            buckets=_BUCKETS, registry=registry,
        )  # fmt: skip
        self._children: dict[tuple[str, int], tuple[object, object]] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        pair = self._children.get((route, status))
        if pair is None:  # labels() costs a few µs; a request should not pay it every time
            pair = (self.requests.labels(route, str(status)), self.seconds.labels(route))
            self._children[route, status] = pair
        pair[0].inc()  # type: ignore[attr-defined]
        pair[1].observe(seconds)  # type: ignore[attr-defined]

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

"""Health of the agent: what ``/healthz`` answers, updated by the loop after each cycle."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class HealthView:
    code: int  # 200 healthy, 503 not
    body: dict[str, object]


class Health:
    """Thread-safe: the loop writes, the HTTP server thread reads."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._started = time.time()
        self._last_ok: bool = False
        self._last_success: float | None = None
        self._last_error: str | None = None
        self._revision: str | None = None
        self._role = "starting"
        self._urgent = False  # a failure that must show at once (the store file is gone)

    def success(self, revision: str | None, role: str) -> None:
        with self._lock:
            self._last_ok, self._last_success, self._role = True, time.time(), role
            self._last_error, self._urgent = None, False
            if revision is not None:
                self._revision = revision

    def failure(self, error: str, urgent: bool = False) -> None:
        """A failed cycle; ``urgent`` ones turn /healthz 503 at once, not after 3 intervals.
        ``error`` is escaped and bounded here: /healthz is read by tools and people alike."""
        from qv_config.safetext import MESSAGE, NAME, bounded

        with self._lock:
            self._last_ok, self._last_error = False, bounded(error, 2 * MESSAGE, NAME)
            self._urgent = self._urgent or urgent

    def view(self) -> HealthView:
        with self._lock:
            now = time.time()
            recent = (
                self._last_success is not None and now - self._last_success <= 3 * self._interval
            )
            healthy = self._last_ok or (recent and not self._urgent)
            body: dict[str, object] = {
                "status": "ok" if healthy else "failing",
                "role": self._role,
                "deployed_revision": self._revision,
                "last_success": self._last_success,
                "last_error": self._last_error,
            }
        return HealthView(200 if healthy else 503, body)

"""Waiting in the loop: the backoff after failed cycles and the stop flag that wakes it."""

from __future__ import annotations

import random
import threading


class Backoff:
    """Exponential with full jitter, capped; reset by a successful cycle."""

    def __init__(self, base: float, cap: float) -> None:
        self.base, self.cap, self.failures = base, cap, 0

    def next(self) -> float:
        self.failures += 1
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 1))
        return random.uniform(ceiling / 2, ceiling)  # jitter: outages do not synchronise agents

    def reset(self) -> None:
        self.failures = 0


class StopEvent(threading.Event):
    """The stop flag (set by SIGTERM); setting it also wakes the loop out of its pause."""

    def __init__(self, wake: threading.Event) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake.set()

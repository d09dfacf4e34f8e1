"""The writer lease: one agent per environment writes, the others wait (SPEC §6).

The lease lives in the store itself (``Store.acquire_lease``), so it fails over when its holder
dies: after ``ttl`` seconds without renewal another agent takes it. It is an optimisation of who
works, not the safety net: every apply is still fenced by a compare-and-set on ``_meta``.
"""

from __future__ import annotations

import os
import socket
import uuid

from qv_config.store.protocol import Store


def new_holder() -> str:
    """Unique per process, readable in the store: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    def __init__(self, env: str, holder: str, ttl: float) -> None:
        self.env = env
        self.holder = holder
        self.ttl = ttl
        self.held = False
        self.taken = False  # acquired and not released since (held may be reset after an error)

    def ensure(self, store: Store) -> bool:
        """Renew when held, else try to take it. Updates and returns ``held``."""
        if self.held and store.renew_lease(self.env, self.holder, self.ttl):
            return True
        self.held = store.acquire_lease(self.env, self.holder, self.ttl)
        self.taken = self.taken or self.held
        return self.held

    def release(self, store: Store) -> None:
        """Give the lease up (a no-op in the store when another holder has it by now)."""
        if self.held or self.taken:
            self.held = self.taken = False
            store.release_lease(self.env, self.holder)

"""The qv config client (SPEC §9): ``ConfigClient(store_url, env)`` serves an environment's
documents and flags from memory, kept current from the store's change events; an OpenFeature
provider over it is in ``qv_config.client.openfeature``. See docs/client.md."""

from __future__ import annotations

from qv_config.client.client import ConfigClient, NotFound, NotReady, Update
from qv_config.client.snapshot import Snapshot

__all__ = ["ConfigClient", "NotFound", "NotReady", "Snapshot", "Update"]

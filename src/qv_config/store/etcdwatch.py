"""etcd's watch messages (SPEC §6: its change events are the native watch): what a response of
``/v3/watch`` says, as events under the store prefix or as the error that ends the watch."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

from qv_config.store.errors import ChangesLost, StoreError


@dataclass(frozen=True)
class WatchEvent:
    key: str  # relative to the prefix: "{env}/{kind}/{name}", "{env}/_meta", ...
    revision: int  # the etcd revision of the change (one Txn = one revision)
    deleted: bool


class WatchCompacted(ChangesLost):
    """The watch's start revision is older than etcd's compacted history: events are lost."""

    def __init__(self, message: str, compact_revision: int) -> None:
        super().__init__(message, hint="re-read the whole prefix and watch from its revision")
        self.compact_revision = compact_revision


class _Server(Protocol):
    """What a watch message needs of its store: its name and its error mapping."""

    def _where(self) -> str: ...

    def _server_error(self, text: str) -> StoreError: ...


def watch_events(message: dict[str, Any], prefix: str, server: _Server) -> list[WatchEvent]:
    """The events of one watch response (keys relative to ``prefix``); raises WatchCompacted
    when history was compacted past the start, StoreError when the watch was cancelled."""
    if "error" in message:
        text = str(message["error"].get("message", message["error"]))
        if "compacted" in text:
            raise WatchCompacted(f"{server._where()}: {text}", 0)
        raise server._server_error(text)
    result = message.get("result", {})
    if int(result.get("compact_revision", 0) or 0) > 0:
        compacted = int(result["compact_revision"])
        raise WatchCompacted(
            f"{server._where()}: required revision has been compacted (history starts after"
            f" {compacted})",
            compacted,
        )
    if result.get("canceled"):
        raise StoreError(f"{server._where()} cancelled the watch: {result.get('cancel_reason')}")
    cut = len(prefix) + 1
    return [
        WatchEvent(
            key=base64.b64decode(ev["kv"]["key"]).decode()[cut:],
            revision=int(ev["kv"].get("mod_revision", 0)),
            deleted=ev.get("type") == "DELETE",
        )
        for ev in result.get("events", [])
    ]

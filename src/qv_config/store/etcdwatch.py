"""etcd's watch messages (SPEC §6: its change events are the native watch): what a response of
``/v3/watch`` says, as events under the store prefix or as the error that ends the watch."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from qv_config.store import layout
from qv_config.store.errors import ChangesLost, StoreError
from qv_config.store.url import StoreUrl, tls_failure


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


class _Watched(_Server, Protocol):
    """What a watch needs of its store (EtcdStore): its URL and its HTTP client."""

    @property
    def url(self) -> StoreUrl: ...

    @property
    def _client(self) -> Any: ...

    @property
    def _httpx(self) -> Any: ...


def stream(server: _Watched, env: str, start: int, idle: float) -> Iterator[list[WatchEvent]]:
    """Stream the changes under ``P/{env}/`` from revision ``start`` (one list per response;
    a response never splits the events of one revision). Returns after ``idle`` seconds
    without a response (re-arm from the next revision); raises WatchCompacted when ``start``
    was compacted and StoreError when the stream is lost."""
    base = layout.env_prefix(server.url.prefix, env)
    key, end = base64.b64encode(base.encode()), base64.b64encode((base[:-1] + "0").encode())
    request = {"key": key.decode(), "range_end": end.decode(), "start_revision": start}
    httpx, where = server._httpx, server._where()
    try:
        with server._client.stream(
            "POST",
            "/v3/watch",
            json={"create_request": request},
            timeout=httpx.Timeout(idle, connect=3),
        ) as response:
            if response.status_code != 200:
                raise server._server_error(response.read().decode(errors="replace"))
            for line in response.iter_lines():
                if line.strip():
                    yield watch_events(json.loads(line), server.url.prefix, server)
    except httpx.ReadTimeout:
        return
    except httpx.TransportError as err:
        raise tls_failure(where, server.url.host, err) or StoreError(
            f"lost the watch on {where}: {err or type(err).__name__}",
            hint="the agent reconnects with backoff",
        ) from None
    raise StoreError(f"{where} ended the watch stream", hint="reconnecting")


def applies(batches: Iterable[list[WatchEvent]], env: str, start: int) -> Iterator[str]:
    """The positions after each response that wrote ``P/{env}/_meta`` (a qv apply writes its
    values and ``_meta`` in one revision): the change feed ConfigClient follows."""
    meta = f"{env}/{layout.META}"
    for events in batches:
        if events:
            start = max(start, events[-1].revision + 1)
            if any(ev.key == meta for ev in events):
                yield str(start)


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

"""The read API: ``/v1/{env}``, ``/v1/{env}/{kind}``, ``/v1/{env}/{kind}/{name}``, the change
feed ``/v1/{env}/events``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from qv_config.client.client import Update
from qv_config.serve.errors import ApiError
from qv_config.serve.server import JSON, Server, cached, grant_of, json_response
from qv_config.serve.views import Entry

MAX_LIMIT = 1000
SSE_HEARTBEAT = 15.0


def slug_of(kind: str) -> str:
    """The kind's slug in URLs (``Config`` or ``config`` → ``config``); 404 for no kind."""
    from qv_config.render.types import KIND_SLUGS

    if kind in KIND_SLUGS.values():
        return kind
    slug = KIND_SLUGS.get(kind)
    if slug is None:
        raise ApiError(404, "no such kind (one of: " + ", ".join(KIND_SLUGS.values()) + ")")
    return slug


async def environment(request: Request) -> Response:
    server: Server = request.app.state.server
    server.check_env(request.path_params["env"])
    meta = server.views().snapshot.meta
    assert meta is not None  # views() answers 503 before a state is loaded
    return json_response({
        "env": server.env, "revision": meta.revision, "digest": meta.digest,
        "applied_at": meta.applied_at, "applied_by": meta.applied_by,
        "approvers": list(meta.approvals), "break_glass": meta.break_glass,
        "stale": server.client.stale,
    })  # fmt: skip


async def document(request: Request) -> Response:
    server: Server = request.app.state.server
    server.check_env(request.path_params["env"])
    views = server.views()
    slug, name = slug_of(request.path_params["kind"]), request.path_params["name"]
    body = views.document(slug, name, grant_of(request).secrets)
    if body is None:
        raise ApiError(404, f"{server.env} has no {slug} of that name")
    return cached(request, body, views.snapshot.revision)


async def listing(request: Request) -> Response:
    server: Server = request.app.state.server
    server.check_env(request.path_params["env"])
    views = server.views()
    slug = slug_of(request.path_params["kind"])
    wanted = _labels(request.query_params.getlist("label"))
    limit = _int(request.query_params.get("limit"), "limit", 100, 1, MAX_LIMIT)
    cursor = request.query_params.get("cursor", "")
    page, more = _page(views.entries(slug), wanted, cursor, limit)
    secrets = grant_of(request).secrets
    items = [views.document(slug, e.name, secrets) for e in page]
    head = orjson.dumps({"env": server.env, "kind": slug, "revision": views.snapshot.revision,
                         "next_cursor": page[-1].name if more else None})  # fmt: skip
    data = head[:-1] + b',"items":[' + b",".join(b.data for b in items if b) + b"]}"
    return Response(data, media_type=JSON, headers={"x-qv-revision": views.snapshot.revision})


def _labels(raw: list[str]) -> list[tuple[str, str]]:
    out = []
    for item in raw:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ApiError(400, "a label filter is `label=KEY=VALUE`")
        out.append((key, value))
    return out


def _int(raw: str | None, what: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, f"`{what}` must be a whole number from {low} to {high}")
    return int(raw)


def _page(
    entries: list[Entry], wanted: list[tuple[str, str]], cursor: str, limit: int
) -> tuple[list[Entry], bool]:
    """The entries after ``cursor`` (a name) that carry every wanted label, ``limit`` of them,
    and whether more follow."""
    page: list[Entry] = []
    for entry in entries:
        if entry.name <= cursor or not all(_has(entry, k, v) for k, v in wanted):
            continue
        if len(page) == limit:
            return page, True
        page.append(entry)
    return page, False


def _has(entry: Entry, key: str, value: str) -> bool:
    found = entry.labels.get(key)
    return found is not None and str(found) == value


async def events(request: Request) -> Response:
    """Long poll (``?since=REV&wait=S``): answers at once when the revision served is not
    ``since``, else at the next apply or after ``wait`` s; ``Accept: text/event-stream``: SSE."""
    server: Server = request.app.state.server
    server.check_env(request.path_params["env"])
    if "text/event-stream" in request.headers.get("accept", ""):
        return StreamingResponse(_stream(server), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})  # fmt: skip
    wait = _float(request.query_params.get("wait"), server.settings.max_wait)
    since = request.query_params.get("since")
    future = server.hub.waiter()
    snapshot = server.client.snapshot
    if snapshot.meta is None or since is None or since != snapshot.revision:
        future.cancel()
        return json_response(_state(server, None, updated=since is not None))
    update = await server.hub.wait(future, wait)
    return json_response(_state(server, update, updated=update is not None))


def _float(raw: str | None, high: float) -> float:
    if raw is None:
        return high
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= high:
        raise ApiError(400, f"`wait` must be a number of seconds from 0 to {high:g}")
    return value


def _state(server: Server, update: Update | None, *, updated: bool) -> dict[str, Any]:
    snapshot = server.client.snapshot
    return {
        "revision": snapshot.revision, "digest": snapshot.digest, "updated": updated,
        "previous_revision": update.previous_revision if update else None,
        "changed": list(update.changed) if update else None,
    }  # fmt: skip


async def _stream(server: Server) -> AsyncIterator[bytes]:
    """SSE: the state served now, then one ``apply`` event per apply; a comment every 15 s."""
    yield b"event: state\ndata: " + orjson.dumps(_state(server, None, updated=False)) + b"\n\n"
    while True:
        update = await server.hub.wait(server.hub.waiter(), SSE_HEARTBEAT)
        if update is None:
            yield b": keep-alive\n\n"
            continue
        data = orjson.dumps(_state(server, update, updated=True))
        yield b"event: apply\nid: " + update.revision.encode() + b"\ndata: " + data + b"\n\n"

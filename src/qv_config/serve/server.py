"""What every route shares: the client, the settings, the bodies of the served snapshot."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from qv_config.client.client import ConfigClient
from qv_config.serve.errors import ApiError
from qv_config.serve.feed import Hub
from qv_config.serve.metrics import ServeMetrics
from qv_config.serve.settings import Settings
from qv_config.serve.tokens import Grant
from qv_config.serve.views import Body, Views

JSON = "application/json"


class Server:
    def __init__(self, client: ConfigClient, settings: Settings, metrics: ServeMetrics) -> None:
        self.client, self.settings, self.metrics = client, settings, metrics
        self.env = settings.env
        self.hub = Hub()
        self._views: Views | None = None

    def views(self) -> Views:
        """The bodies of the snapshot served now (made anew when the client swapped it)."""
        snapshot = self.client.snapshot
        views = self._views
        if views is None or views.snapshot is not snapshot:
            if snapshot.meta is None:
                raise ApiError(503, f"no state of {self.env} loaded yet (see /healthz)")
            views = Views(snapshot, self.env, self.settings.marks, views)
            self._views = views
        return views

    def check_env(self, env: str) -> None:
        if env != self.env:
            raise ApiError(404, f"this server serves the environment {self.env}, not that one")


def grant_of(request: Request) -> Grant:
    grant: Grant = request.scope["state"]["grant"]
    return grant


def not_modified(request: Request, etag: str) -> bool:
    return etag_matches(request.headers.get("if-none-match"), etag)


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (or ``*``); weak tags compare equal."""
    if not header:
        return False
    return any(t.strip().removeprefix("W/") in (etag, "*") for t in header.split(","))


def cached(request: Request, body: Body, revision: str) -> Response:
    """``body`` with its ETag, or 304 when the caller has it."""
    headers = {"etag": body.etag, "cache-control": "no-cache", "x-qv-revision": revision}
    if not_modified(request, body.etag):
        return Response(status_code=304, headers=headers)
    return Response(body.data, headers=headers, media_type=JSON)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=headers, media_type=JSON)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past ``limit`` bytes even without a Content-Length."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON (None when empty); 400 when it is not JSON."""
    return parse_json(await read_body(request, limit))


def parse_json(raw: bytes) -> Any:
    """``raw`` as JSON (None when empty); 400 when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ApiError(400, "the body is not valid JSON") from None

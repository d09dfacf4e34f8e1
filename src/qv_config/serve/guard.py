"""The ASGI layer in front of every route: body size limit, bearer tokens, access log, metrics.

Pure ASGI (not Starlette's BaseHTTPMiddleware, which costs a task per request): one header scan,
one dict look-up for the token, one access line (batched: accesslog.py) and two metric updates
per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from qv_config.serve.accesslog import AccessLog
from qv_config.serve.fastpath import FastPath
from qv_config.serve.metrics import ServeMetrics
from qv_config.serve.settings import Settings
from qv_config.serve.tokens import Grant

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("qv_config.serve")
ANONYMOUS = Grant("-", secrets=False)  # no token file: loopback only, secrets always masked
PUBLIC = frozenset(("/healthz", "/openapi.json"))


class Guard:
    def __init__(
        self,
        app: App,
        settings: Settings,
        metrics: ServeMetrics,
        access: AccessLog | None = None,
        fast: FastPath | None = None,
    ) -> None:
        self.app, self.settings, self.metrics, self.access = app, settings, metrics, access
        self.fast = fast

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: dict[str, int] = {"status": 500, "bytes": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"], seen["started"] = message["status"], 1
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        grant = await self._admit(scope, sending)
        if grant is not None:
            scope.setdefault("state", {})["grant"] = grant
            await self._call(scope, receive, sending, seen, grant)
        elapsed = time.perf_counter() - start
        area = area_of(scope["path"])
        self.metrics.observe(area, seen["status"], elapsed)
        if self.access is not None:
            self.access.write(_line(scope, seen, elapsed, grant))

    async def _call(
        self, scope: Scope, receive: Receive, send: Send, seen: dict[str, int], grant: Grant
    ) -> None:
        """The fast path's handler or the application; an exception is logged by its type and
        place and answered 500 (when nothing was sent yet), never passed to the server, which
        would print its text."""
        try:
            handler = self.fast.route(scope) if self.fast is not None else None
            if handler is not None:
                await handler(scope, receive, send, grant)
            else:
                await self.app(scope, receive, send)
        except Exception as err:
            from qv_config.errors import bug_summary

            log.error("qv serve: unexpected %s", bug_summary(err))
            if seen["bytes"] == 0 and seen["status"] == 500 and not seen.get("started"):
                await _refuse(send, 500, "internal error (logged by the server)")

    async def _admit(self, scope: Scope, send: Send) -> Grant | None:
        """The request's grant, or None after sending the refusal."""
        auth = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.settings.max_body:
                    await _refuse(send, 413, f"the body exceeds {self.settings.max_body} bytes")
                    return None
            elif name == b"authorization":
                auth = value.decode("latin-1")
        tokens = self.settings.tokens
        if not tokens.configured or scope["path"] in PUBLIC:
            return ANONYMOUS if not tokens.configured else tokens.grant(auth) or ANONYMOUS
        grant = tokens.grant(auth)
        if grant is None:
            why = "a bearer token is required" if not auth else "the token is not valid here"
            await _refuse(send, 401, why, [(b"www-authenticate", b'Bearer realm="qv"')])
        return grant


async def _refuse(
    send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps({"error": {"status": status, "message": message}})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


def area_of(path: str) -> str:
    """A bounded label for metrics: the route's family, never the raw path."""
    if path.startswith("/v1/"):
        depth = path.rstrip("/").count("/")
        if path.endswith("/events"):
            return "events"
        return {2: "environment", 3: "list", 4: "document"}.get(depth, "other")
    if path.startswith("/ofrep/"):
        return "ofrep_bulk" if path.rstrip("/").endswith("/flags") else "ofrep"
    if path.startswith("/api/client/"):
        return "unleash_" + path.rsplit("/", 1)[-1] if path.count("/") == 3 else "other"
    return path.strip("/") if path in ("/healthz", "/metrics", "/openapi.json") else "other"


def _line(
    scope: Scope, seen: dict[str, int], elapsed: float, grant: Grant | None
) -> dict[str, object]:
    client = scope.get("client") or ("-", 0)
    return {
        "remote": client[0],
        "method": scope["method"],
        "path": scope["path"][:256],  # bounded; orjson escapes control characters
        "status": seen["status"],
        "bytes": seen["bytes"],
        "ms": round(elapsed * 1000, 3),
        "token": grant.name if grant else None,  # the token's name, never the token
    }

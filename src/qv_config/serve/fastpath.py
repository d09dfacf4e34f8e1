"""The two routes services call at rate, answered in plain ASGI: a document (GET, and its 304
revalidation) and one OFREP flag.

Through Starlette each request paid four layers of middleware and routing, a ``Request`` and a
``Response`` — about a third of the server's time on these routes (``benchmarks/bench_serve.py``).
Here the path is split once and the answer is two messages built from bytes made in advance.
The answers are the same as the Starlette routes' (``readapi.document``, ``flagapi.ofrep_flag``,
which still serve HEAD and anything unusual such as a trailing slash): one test suite covers
both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from qv_config.serve import ofrep
from qv_config.serve.errors import ApiError, error_body
from qv_config.serve.flagapi import context_or_failure
from qv_config.serve.readapi import slug_of
from qv_config.serve.server import Server, etag_matches
from qv_config.serve.tokens import Grant

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[Scope, Receive, Send, Grant], Awaitable[None]]
JSON = (b"content-type", b"application/json")
_FLAG = ["ofrep", "v1", "evaluate", "flags"]


class FastPath:
    def __init__(self, server: Server) -> None:
        self.server = server

    def route(self, scope: Scope) -> Handler | None:
        """The handler of a document GET or an OFREP flag POST; None for everything else."""
        parts = scope["path"].split("/")
        if not all(parts[1:]):
            return None
        method = scope["method"]
        if method == "GET" and len(parts) == 5 and parts[1] == "v1":
            return self.document  # /v1/{env}/{kind}/{name}
        if method == "POST" and len(parts) == 6 and parts[1:5] == _FLAG:
            return self.flag  # /ofrep/v1/evaluate/flags/{key}
        return None

    async def document(self, scope: Scope, receive: Receive, send: Send, grant: Grant) -> None:
        _, _, env, kind, name = scope["path"].split("/")
        server = self.server
        try:
            server.check_env(env)
            views = server.views()
            slug = slug_of(kind)
            body = views.document(slug, name, grant.secrets)
            if body is None:
                raise ApiError(404, f"{server.env} has no {slug} of that name")
        except ApiError as err:
            await _send(send, err.status_code, error_body(err), [JSON])
            return
        etag = body.etag.encode()
        headers = [(b"etag", etag), (b"cache-control", b"no-cache"),
                   (b"x-qv-revision", views.snapshot.revision.encode())]  # fmt: skip
        if _not_modified(scope, body.etag):
            await _send(send, 304, b"", headers)
        else:
            await _send(send, 200, body.data, [*headers, JSON])

    async def flag(self, scope: Scope, receive: Receive, send: Send, grant: Grant) -> None:
        key = scope["path"].rsplit("/", 1)[1]
        try:
            raw = await _body(receive, self.server.settings.max_body)
        except ApiError as err:
            await _send(send, err.status_code, error_body(err), [JSON])
            return
        context, failure = context_or_failure(raw, key)
        if failure is not None:
            await _send(send, 400, orjson.dumps(failure), [JSON])
            return
        status, answer = ofrep.evaluate(self.server.client.snapshot, key, context)
        await _send(send, status, orjson.dumps(answer), [JSON])


async def _body(receive: Receive, limit: int) -> bytes:
    """The request body; 413 past ``limit`` bytes (the guard refused a Content-Length past it
    already: this is a chunked body)."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body exceeds {limit} bytes")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _not_modified(scope: Scope, etag: str) -> bool:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            return etag_matches(value.decode("latin-1"), etag)
    return False


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    if status != 304:
        headers = [*headers, (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

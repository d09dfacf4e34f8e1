"""Flags over HTTP: Unleash's client API and OFREP (docs/serve.md)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from qv_config.serve import ofrep
from qv_config.serve.errors import ApiError
from qv_config.serve.server import (
    Server,
    cached,
    json_response,
    not_modified,
    parse_json,
    read_body,
    read_json,
)

Failure = dict[str, Any]  # OFREP's error body


async def features(request: Request) -> Response:
    server: Server = request.app.state.server
    views = server.views()
    return cached(request, views.features(), views.snapshot.revision)


async def unleash_metrics(request: Request) -> Response:
    """Accepted and dropped (qv counts evaluations in the SDK's process, not here)."""
    await _object(request)
    return Response(status_code=202)


async def unleash_register(request: Request) -> Response:
    await _object(request)
    return Response(status_code=202)


async def _object(request: Request) -> dict[str, Any]:
    server: Server = request.app.state.server
    body = await read_json(request, server.settings.max_body)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


async def _context(request: Request, key: str | None) -> tuple[dict[str, Any], Response | None]:
    """Unleash's context of an OFREP request, or the OFREP error response."""
    server: Server = request.app.state.server
    context, failure = context_or_failure(await read_body(request, server.settings.max_body), key)
    return context, json_response(failure, 400) if failure is not None else None


def context_or_failure(raw: bytes, key: str | None) -> tuple[dict[str, Any], Failure | None]:
    """Unleash's context of an OFREP request body, or the body of OFREP's 400 answer."""
    try:
        return ofrep.context_of(parse_json(raw)), None
    except ApiError as err:
        code, detail = "PARSE_ERROR", str(err.detail)
    except ofrep.BadContext as err:
        code, detail = "INVALID_CONTEXT", str(err)
    failure = {"errorCode": code, "errorDetails": detail}
    return {}, {"key": key, **failure} if key is not None else failure


async def ofrep_flag(request: Request) -> Response:
    server: Server = request.app.state.server
    key = request.path_params["key"]
    context, error = await _context(request, key)
    if error is not None:
        return error
    status, body = ofrep.evaluate(server.client.snapshot, key, context)
    return json_response(body, status)


async def ofrep_bulk(request: Request) -> Response:
    server: Server = request.app.state.server
    context, error = await _context(request, None)
    if error is not None:
        return error
    snapshot = server.client.snapshot
    if snapshot.meta is None:
        failure = {"errorCode": "PROVIDER_NOT_READY", "errorDetails": "no state loaded yet"}
        return json_response(failure, 503)
    # The state and the context, not the answers (a random draw would change them): a caller
    # asking again with the same context before the next apply gets 304, as OFREP has it.
    seed = snapshot.digest.encode() + orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
    etag = '"' + hashlib.sha256(seed).hexdigest()[:32] + '"'
    if not_modified(request, etag):
        return Response(status_code=304, headers={"etag": etag})
    data = orjson.dumps(ofrep.bulk(snapshot, context))
    return Response(data, headers={"etag": etag}, media_type="application/json")

"""Clean JSON errors: every 4xx and 5xx the server sends is ``{"error": {"status", "message"}}``
(OFREP's routes answer OFREP's own error shape), never a traceback."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("qv_config.serve")


class ApiError(HTTPException):
    """A refusal with a message for the caller (it never holds a value of a document)."""


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": {"status": status, "message": message}})
    return Response(body, status, headers=headers, media_type="application/json")


def error_body(exc: HTTPException) -> bytes:
    """The JSON body answering ``exc``: an ApiError's message, or a phrase for Starlette's own."""
    detail = exc.detail if isinstance(exc, ApiError) else _PHRASES.get(exc.status_code, "error")
    return orjson.dumps({"error": {"status": exc.status_code, "message": str(detail)}})


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    return Response(error_body(exc), exc.status_code, headers, media_type="application/json")


async def server_error(request: Request, exc: Exception) -> Response:
    from qv_config.errors import bug_summary

    log.error("qv serve: unexpected %s", bug_summary(exc))  # its type and place, never its text
    return json_error(500, "internal error (logged by the server)")


_PHRASES = {
    404: "no such resource",
    405: "method not allowed on this resource",
}

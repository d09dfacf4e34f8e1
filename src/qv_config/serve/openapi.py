"""The OpenAPI 3.0 description of ``qv serve`` (served at ``/openapi.json``; committed as
``docs/openapi.json``, which a test keeps equal)."""

from __future__ import annotations

import json
from typing import Any

_STR = {"type": "string"}
_OBJ = {"type": "object"}
_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["status", "message"],
                             "properties": {"status": {"type": "integer"}, "message": _STR}}},
}  # fmt: skip
_OFREP_FAILURE = {
    "type": "object", "required": ["errorCode", "errorDetails"],
    "properties": {"key": _STR, "errorCode": _STR, "errorDetails": _STR},
}  # fmt: skip
_OFREP_SUCCESS = {
    "type": "object", "required": ["key", "reason", "variant"],
    "properties": {"key": _STR, "value": {}, "reason": _STR,
                   "variant": {"type": "string", "nullable": True}, "metadata": _OBJ},
}  # fmt: skip
_OFREP_REQUEST = {
    "type": "object",
    "properties": {"context": {"type": "object", "nullable": True,
                               "properties": {"targetingKey": _STR},
                               "additionalProperties": True}},
}  # fmt: skip
_DOCUMENT = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {"apiVersion": _STR, "kind": _STR, "metadata": _OBJ, "spec": {}},
}  # fmt: skip


def _json(schema: dict[str, Any], what: str) -> dict[str, Any]:
    return {"description": what, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    what = {400: "bad input", 401: "no valid token", 404: "not found",
            413: "body too large", 503: "no state loaded yet"}  # fmt: skip
    return {str(c): _json(_ERROR, what[c]) for c in codes}


def _param(name: str, where: str = "path", schema: dict[str, Any] | None = None,
           required: bool | None = None) -> dict[str, Any]:  # fmt: skip
    needed = where == "path" if required is None else required
    return {"name": name, "in": where, "required": needed, "schema": schema or _STR}


_ENV = _param("env")
_NOT_MODIFIED = {"304": {"description": "the caller's copy is current (If-None-Match)"}}


def _get(summary: str, ok: dict[str, Any], params: list[Any], *codes: int) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": ok, **_errors(*codes)}}}  # fmt: skip


def _read_paths() -> dict[str, Any]:
    meta = {"type": "object", "required": ["env", "revision", "digest", "applied_at", "approvers"],
            "properties": {"env": _STR, "revision": _STR, "digest": _STR, "applied_at": _STR,
                           "applied_by": _STR, "approvers": {"type": "array", "items": _STR},
                           "break_glass": _STR, "stale": {"type": "boolean"}}}  # fmt: skip
    page = {"type": "object", "required": ["items", "next_cursor", "revision"],
            "properties": {"env": _STR, "kind": _STR, "revision": _STR,
                           "next_cursor": {"type": "string", "nullable": True},
                           "items": {"type": "array", "items": _DOCUMENT}}}  # fmt: skip
    feed = {"type": "object", "required": ["revision", "digest", "updated"],
            "properties": {"revision": _STR, "digest": _STR, "updated": {"type": "boolean"},
                           "previous_revision": {"type": "string", "nullable": True},
                           "changed": {"type": "array", "nullable": True,
                                       "items": _STR}}}  # fmt: skip
    doc = _get("A rendered document (secret fields masked unless the token may read them)",
               _json(_DOCUMENT, "the document"), [_ENV, _param("kind"), _param("name"),
               _param("If-None-Match", "header")], 401, 404, 503)  # fmt: skip
    doc["get"]["responses"].update(_NOT_MODIFIED)
    labels = _param("label", "query", {"type": "array", "items": {"type": "string"}})
    limit = _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 1000})
    wait = _param("wait", "query", {"type": "number", "minimum": 0, "maximum": 60})
    return {
        "/v1/{env}": _get("What is deployed", _json(meta, "_meta"), [_ENV], 401, 404, 503),
        "/v1/{env}/events": _get(
            "Wait for the next apply (long poll; SSE with Accept: text/event-stream)",
            _json(feed, "the revision served"), [_ENV, _param("since", "query"), wait],
            400, 401, 404),
        "/v1/{env}/{kind}": _get(
            "Documents of a kind, by name", _json(page, "one page"),
            [_ENV, _param("kind"), labels, limit, _param("cursor", "query")], 400, 401, 404, 503),
        "/v1/{env}/{kind}/{name}": doc,
    }  # fmt: skip


def _flag_paths() -> dict[str, Any]:
    features = _get("Unleash client features", _json(_OBJ, "client-features document"),
                    [_param("If-None-Match", "header")], 401, 503)  # fmt: skip
    features["get"]["responses"].update(_NOT_MODIFIED)
    accepted = {"202": {"description": "accepted"}, **_errors(400, 401, 413)}
    body = {"required": False, "content": {"application/json": {"schema": _OFREP_REQUEST}}}
    loose = {"required": True, "content": {"application/json": {"schema": _OBJ}}}
    fail = _json(_OFREP_FAILURE, "OFREP failure")
    bulk_ok = _json({"type": "object", "required": ["flags"], "properties": {
        "flags": {"type": "array", "items": _OBJ}}}, "every flag evaluated")  # fmt: skip
    return {
        "/api/client/features": features,
        "/api/client/metrics": {"post": {"summary": "Unleash SDK metrics (accepted, dropped)",
                                         "requestBody": loose, "responses": accepted}},
        "/api/client/register": {"post": {"summary": "Unleash SDK registration (accepted)",
                                          "requestBody": loose, "responses": accepted}},
        "/ofrep/v1/evaluate/flags/{key}": {"post": {
            "summary": "OFREP: evaluate one flag", "parameters": [_param("key")],
            "requestBody": body, "responses": {
                "200": _json(_OFREP_SUCCESS, "evaluated"), "400": fail, "404": fail,
                "503": fail, **_errors(401, 413)}}},
        "/ofrep/v1/evaluate/flags": {"post": {
            "summary": "OFREP: evaluate every flag", "requestBody": body,
            "parameters": [_param("If-None-Match", "header")],
            "responses": {"200": bulk_ok, **_NOT_MODIFIED, "400": fail, "503": fail,
                          **_errors(401, 413)}}},
    }  # fmt: skip


def _ops_paths() -> dict[str, Any]:
    health = {"type": "object", "required": ["status", "revision"],
              "properties": {"status": {"type": "string", "enum": ["ok", "degraded", "starting"]},
                             "revision": {"type": "string", "nullable": True}}}  # fmt: skip
    text = {"description": "Prometheus text format", "content": {"text/plain": {"schema": _STR}}}
    return {
        "/healthz": {"get": {"summary": "Health", "security": [], "responses": {
            "200": _json(health, "serving"), "503": _json(health, "no state yet")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics",
                             "responses": {"200": text, **_errors(401)}}},
        "/openapi.json": {"get": {"summary": "This description", "security": [],
                                  "responses": {"200": _json(_OBJ, "OpenAPI 3.0")}}},
    }  # fmt: skip


def document() -> dict[str, Any]:
    from qv_config import __version__

    return {
        "openapi": "3.0.3",
        "info": {"title": "qv serve", "version": __version__,
                 "description": "qv's runtime store over HTTP (docs/serve.md)."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {**_ops_paths(), **_read_paths(), **_flag_paths()},
    }  # fmt: skip


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


if __name__ == "__main__":  # python -m qv_config.serve.openapi > docs/openapi.json
    import sys

    sys.stdout.buffer.write(dumps(document()))

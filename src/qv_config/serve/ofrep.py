"""OpenFeature's Remote Evaluation Protocol (OFREP) over a snapshot's compiled flags.

The context is mapped to Unleash's as the in-process provider maps it (docs/serve.md):
``targetingKey`` is ``userId``; attributes named like Unleash's standard fields are those fields;
every other attribute is a custom property, as text. A flag without variants answers its
boolean (``is_enabled``); a flag with variants answers the chosen variant's payload (``string``
and ``csv`` as a string, ``number`` as a number, ``json`` parsed; no payload: the variant's
name), or no value (the caller's default) when no variant applies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qv_config.client.snapshot import FlagShape, Snapshot

_STANDARD = ("userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime")


class BadContext(ValueError):
    """A request body that is not ``{"context": {...}}``: OFREP's INVALID_CONTEXT."""


def context_of(body: Any) -> dict[str, Any]:
    """Unleash's context of an OFREP request body (``{}`` and no body: no context)."""
    if body is None:
        return {}
    if not isinstance(body, Mapping):
        raise BadContext("the request body must be a JSON object")
    raw = body.get("context", {})
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise BadContext("`context` must be a JSON object")
    out: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for name, value in raw.items():
        if name == "targetingKey":
            if value is not None:
                out["userId"] = _text(value)
        elif name in _STANDARD:
            out[name] = _text(value)
        elif value is not None:
            properties[str(name)] = _text(value)
    if properties:
        out["properties"] = properties
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def evaluate(
    snapshot: Snapshot, key: str, context: Mapping[str, Any]
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, OFREP body) of flag ``key`` in ``context``."""
    flags, shape = snapshot.flags, snapshot.shapes.get(key)
    meta = {"revision": snapshot.revision}
    if flags is None:
        return 503, _failure(key, "PROVIDER_NOT_READY", "no state loaded yet")
    if shape is None:
        return 404, _failure(key, "FLAG_NOT_FOUND", f"no flag {key!r} at {snapshot.revision[:12]}")
    if not shape.variants:
        on = flags.is_enabled(key, context)
        return 200, {"key": key, "value": on, "reason": _bool_reason(shape, on),
                     "variant": "on" if on else "off", "metadata": meta}  # fmt: skip
    chosen = flags.variant(key, context)
    if not chosen.get("feature_enabled") or not chosen.get("enabled"):
        reason = "DISABLED" if not shape.enabled else "DEFAULT"
        return 200, {"key": key, "reason": reason, "variant": None, "metadata": meta}
    name = str(chosen.get("name"))
    try:
        value = _payload(chosen.get("payload"), name)
    except ValueError:
        return 400, _failure(key, "PARSE_ERROR", f"the payload of variant {name!r} is no JSON")
    reason = "SPLIT" if shape.split else ("STATIC" if shape.static else "TARGETING_MATCH")
    return 200, {"key": key, "value": value, "reason": reason, "variant": name, "metadata": meta}


def _bool_reason(shape: FlagShape, on: bool) -> str:
    if not shape.enabled:
        return "DISABLED"
    if shape.static:
        return "STATIC"
    if shape.rollout:
        return "SPLIT"
    return "TARGETING_MATCH" if on else "DEFAULT"


def _payload(payload: Any, variant: str) -> Any:
    if not payload or payload.get("value") is None:
        return variant
    kind, value = payload.get("type"), str(payload["value"])
    if kind == "number":
        number = json.loads(value)
        if not isinstance(number, int | float) or isinstance(number, bool):
            raise ValueError(value)
        return number
    if kind == "json":
        return json.loads(value)
    return value


def _failure(key: str, code: str, details: str) -> dict[str, Any]:
    return {"key": key, "errorCode": code, "errorDetails": details}


def bulk(snapshot: Snapshot, context: Mapping[str, Any]) -> dict[str, Any]:
    """Every flag of the snapshot evaluated in ``context`` (OFREP's bulk response)."""
    out = []
    for key in sorted(snapshot.shapes):
        _, body = evaluate(snapshot, key, context)
        out.append(body)
    return {"flags": out}

"""The evaluation context: which fields qv reads, and how a value becomes text.

A context is any ``Mapping[str, object]`` shaped like Unleash's::

    {"userId": "u1", "sessionId": "s1", "remoteAddress": "10.0.0.1",
     "environment": "prod", "appName": "oms", "currentTime": "2026-12-07T10:00:00Z",
     "properties": {"desk": "eu-eq", "orderNotional": "2500000"}}

The six standard fields are read at the top level. Any other field (a *custom* field) is read
from ``properties`` first and then, so that callers may pass ``{"desk": "eu-eq"}``, from the top
level ("flat" custom fields; what UnleashClient does too). ``None`` is the same as absent.
Values that are not strings become text as UnleashClient sends them to Unleash's engine:
``datetime`` by ``isoformat()``, anything else by ``str()`` (so ``True`` is ``"True"``).
A missing ``currentTime`` is "now" for the date operators.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

Context = Mapping[str, Any]
Getter = Callable[[Context], "str | None"]

STANDARD_FIELDS = frozenset(
    ("userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime")
)


def text(value: object) -> str:
    """A context value that is not a string, as Unleash's Python SDK sends it."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def getter(name: str) -> Getter:
    """A function reading field ``name`` of a context as text (None when absent)."""
    if name in STANDARD_FIELDS:
        return _standard(name)
    return custom_getter(name)


def _standard(name: str) -> Getter:
    def get(ctx: Context) -> str | None:
        value = ctx.get(name)
        if value is None or value.__class__ is str:
            return value
        return text(value)

    return get


def custom_getter(name: str) -> Getter:
    """A getter of ``properties[name]``, then of a flat custom field ``name``."""

    def get(ctx: Context) -> str | None:
        props = ctx.get("properties")
        value = props.get(name) if props else None
        if value is None:
            value = ctx.get(name)
            if value is None or name == "properties":
                return None
        if value.__class__ is str:
            return value
        return text(value)

    return get


def unleash_context(ctx: Context) -> dict[str, Any]:
    """``ctx`` in the shape Unleash's engine reads: standard fields at the top, every custom
    field (flat ones included) in ``properties``, all values text: the same question for an
    engine that reads only that shape (Unleash's, in the differential tests)."""
    out: dict[str, Any] = {}
    props: dict[str, str] = {}
    for key, value in ctx.items():
        if value is None or key == "properties":
            continue
        if key in STANDARD_FIELDS:
            out[key] = value if isinstance(value, str) else text(value)
        else:
            props[key] = value if isinstance(value, str) else text(value)
    for key, value in (ctx.get("properties") or {}).items():
        if value is not None:
            props[key] = value if isinstance(value, str) else text(value)
    out["properties"] = props
    return out


def from_pairs(pairs: list[str]) -> dict[str, Any]:
    """A context from ``key=value`` words (``qv flags eval --context``): the six standard fields
    at the top, any other key (or ``properties.KEY``) in ``properties``. ValueError names the
    word that is not ``key=value``."""
    out: dict[str, Any] = {}
    props: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(pair)
        if key in STANDARD_FIELDS:
            out[key] = value
        else:
            props[key.removeprefix("properties.") or key] = value
    out["properties"] = props
    return out

"""Variant selection: overrides, then a weighted pick by murmur3 bucket (seed 86028157).

Follows Unleash's engine: the first override whose context field is among its values wins;
otherwise the identifier named by the first variant's ``stickiness`` ("default": userId, then
sessionId; a custom field is read like any custom field) is hashed as ``"<groupId>:<id>"`` into
1..total weight, and the first variant whose cumulative weight reaches it is chosen. Without an
identifier the pick is random. A total weight of 0 picks no variant.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import mmh3

from qv_config.flags.context import Context, Getter, custom_getter, getter
from qv_config.flags.hashing import VARIANT_SEED

Result = dict[str, Any]
Picker = Callable[[Context], "Result | None"]
_SEED_FIELDS = frozenset(("userId", "sessionId", "environment", "appName", "remoteAddress"))


def disabled(feature_enabled: bool) -> Result:
    return {
        "name": "disabled",
        "enabled": False,
        "feature_enabled": feature_enabled,
        "payload": None,
    }


def chosen(variant: Mapping[str, Any]) -> Result:
    payload = variant.get("payload")
    return {
        "name": str(variant.get("name", "")),
        "enabled": True,
        "feature_enabled": True,
        "payload": dict(payload) if isinstance(payload, Mapping) else None,
    }


def seed_getters(stickiness: str | None) -> tuple[Getter, ...]:
    """Where the identifier comes from: userId then sessionId by default, else one field."""
    if stickiness in (None, "default"):
        return (getter("userId"), getter("sessionId"))
    if stickiness in _SEED_FIELDS:
        return (getter(stickiness),)
    # any other name (even currentTime) is a custom field, as in Unleash's engine
    return (custom_getter(stickiness),)


def picker(variants: Sequence[Mapping[str, Any]], group: str, sticky: str | None) -> Picker | None:
    """A function choosing among ``variants`` (None when there are none)."""
    if not variants:
        return None
    results = [chosen(v) for v in variants]
    overrides = _overrides(variants, results)
    weights = [int(v.get("weight") or 0) for v in variants]
    total = sum(weights)
    bounds = _cumulative(weights)
    seeds = seed_getters(sticky)
    prefix = f"{group}:"

    def pick(ctx: Context) -> Result | None:
        for get, allowed, result in overrides:
            value = get(ctx)
            if value is not None and value in allowed:
                return dict(result)
        if total <= 0:
            return None
        target = _target(ctx, seeds, prefix, total)
        for bound, result in zip(bounds, results, strict=True):
            if bound >= target:
                return dict(result)
        return None

    return pick


def _target(ctx: Context, seeds: tuple[Getter, ...], prefix: str, total: int) -> int:
    for get in seeds:
        value = get(ctx)
        if value is not None:
            return int(mmh3.hash(prefix + value, VARIANT_SEED, False) % total + 1)
    return random.randrange(total)


def _cumulative(weights: list[int]) -> list[int]:
    out, running = [], 0
    for weight in weights:
        running += weight
        out.append(running)
    return out


def _overrides(
    variants: Sequence[Mapping[str, Any]], results: list[Result]
) -> list[tuple[Getter, frozenset[str], Result]]:
    found = []
    for variant, result in zip(variants, results, strict=True):
        for override in variant.get("overrides") or []:
            allowed = frozenset(str(v) for v in override.get("values") or [])
            found.append((getter(str(override.get("contextName", ""))), allowed, result))
    return found

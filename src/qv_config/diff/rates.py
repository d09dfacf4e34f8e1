"""Turning limit values into comparable numbers (numbers as they are; rates per second)."""

from __future__ import annotations

import re
from typing import Any

_RATE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*/\s*([0-9]*)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def rate_per_second(text: str) -> float | None:
    """``"20/1s"`` -> 20.0; ``"500/1m"`` -> 8.33…; None when it is not a rate."""
    match = _RATE.match(text)
    if match is None:
        return None
    count, span, unit = match.groups()
    seconds = (int(span) if span else 1) * _UNIT_SECONDS[unit]
    return float(count) / seconds if seconds else None


def comparable(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return rate_per_second(value)
    return None

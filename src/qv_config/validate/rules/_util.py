"""Small helpers shared by the rule families."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*(ms|s|m|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (the schema stage reports the shape)."""
    if type(value) is dict:  # nearly always: no ABC check (rules call this per document)
        return value
    return value if isinstance(value, Mapping) else {}


def is_number(value: Any) -> bool:
    kind = type(value)
    if kind is int or kind is float:  # nearly always: no isinstance of a union
        return True
    return isinstance(value, int | float) and not isinstance(value, bool)


def number(value: Any) -> float | None:
    """``value`` as a float when it is a number (bools are not), else None."""
    return float(value) if is_number(value) else None


def rate_per_second(value: Any) -> float | None:
    """``"20/1s"`` -> 20.0 orders per second; None when malformed."""
    if not isinstance(value, str):
        return None
    return _rate(value)


@lru_cache(maxsize=4096)
def _rate(value: str) -> float | None:
    # Thousands of documents repeat a few dozen rates: parse each distinct string once.
    match = _RATE.match(value)
    if match is None or int(match.group(2)) == 0:
        return None
    count, span, unit = int(match.group(1)), int(match.group(2)), match.group(3)
    return count / (span * _UNIT_SECONDS[unit])


def parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def fmt(value: Any) -> str:
    """Numbers with thousands separators (``2,000,000``); anything else as written."""
    if isinstance(value, bool) or not is_number(value):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,}"


def did_you_mean(name: Any, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` or a list of the known names, for reference messages."""
    names = sorted(known)
    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    if not names:
        return " (there are none in this environment)"
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f" (known: {shown})"

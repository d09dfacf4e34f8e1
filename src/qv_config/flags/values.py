"""Parsing of the values the operators compare, as Unleash's engine (Rust) parses them.

Numbers follow Rust's ``f64::from_str`` (no underscores, no surrounding blanks: Python's
``float`` alone would take both); dates are RFC 3339 with an offset; versions are SemVer 2.0.0
(no leading ``v``, no leading zeros) ordered by precedence, build metadata breaking ties the way
the ``semver`` crate does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)\Z", re.IGNORECASE
)
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)

Version = tuple[int, int, int, int, tuple[tuple[int, int, str], ...], tuple[tuple[int, str], ...]]


def number(value: str) -> float | None:
    """``value`` as a float, or None when Rust would not parse it."""
    if _NUMBER.match(value) is None:
        return None
    return float(value)


def date(value: str) -> datetime | None:
    """An RFC 3339 timestamp with its offset, or None."""
    found = _DATE.match(value)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
        tz = UTC if zone in "Zz" else _offset(zone)
    except ValueError:
        return None
    micros = int((fraction or ".0")[1:7].ljust(6, "0"))
    return stamp.replace(microsecond=micros, tzinfo=tz)


def _offset(zone: str) -> timezone:
    sign = -1 if zone[0] == "-" else 1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(zone)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@lru_cache(maxsize=4096)
def version(value: str) -> Version | None:
    """A SemVer version as a key that orders like the ``semver`` crate, or None."""
    found = _SEMVER.match(value)
    if found is None:
        return None
    major, minor, patch, pre, build = found.groups()
    # A version without pre-release sorts after every pre-release of the same triple.
    pre_key = tuple(_ident(part) for part in pre.split(".")) if pre else ()
    build_key = tuple(_build(part) for part in build.split(".")) if build else ()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre_key, build_key)


def _ident(part: str) -> tuple[int, int, str]:
    # numeric identifiers sort before alphanumeric ones, numerically among themselves
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


def _build(part: str) -> tuple[int, str]:
    return (0, part.zfill(40)) if part.isdigit() else (1, part)

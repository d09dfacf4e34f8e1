"""Parsing of the values the operators compare, as Unleash's engine (Rust) parses them.

Numbers follow Rust's ``f64::from_str`` (no underscores, no surrounding blanks: Python's
``float`` alone would take both); dates are RFC 3339 with an offset; versions are SemVer 2.0.0
(no leading ``v``, no leading zeros) ordered by precedence, build metadata ignored.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

# What Unleash's engine accepts as a constraint's own value (its rule grammar): stricter than
# what it accepts from a context.
_NUMBER_LITERAL = re.compile(r"[ \t]*([+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)[ \t]*\Z")
_DATE_LITERAL = re.compile(
    r"[ \t]*(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2}))[ \t]*\Z"
)
_SEMVER_LITERAL = re.compile(
    r"[ \t]*\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?[ \t]*\Z"
)
_DATE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    rf"(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)

Version = tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]


def number(value: str) -> float | None:
    """``value`` as a float, or None when Rust would not parse it."""
    if value.isascii() and value.isdigit() and len(value) < 16:
        return float(int(value))  # exact (below 2**53), and int() reads digits faster than float()
    try:
        parsed = float(value)
    except ValueError:
        return None
    # float() also takes blanks around, "_" between digits and non-ASCII digits: Rust does not
    if value.isascii() and "_" not in value and not value[0].isspace() and not value[-1].isspace():
        return parsed
    return None


def number_literal(value: str) -> float | None:
    """A constraint's NUM_* value as the engine's grammar reads it (None: the flag is refused)."""
    found = _NUMBER_LITERAL.match(value)
    return float(found.group(1)) if found else None


def date_literal(value: str) -> datetime | None:
    """A constraint's DATE_* value: RFC 3339 with ``T``, ``Z`` or an offset, 0 or 3 decimals."""
    found = _DATE_LITERAL.match(value)
    return date(found.group(1)) if found else None


def looks_like_version(value: str) -> bool:
    """Shaped like a version (the engine's grammar), valid or not."""
    return _SEMVER_LITERAL.match(value) is not None


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
    major, minor, patch, pre, _build = found.groups()
    # A version without pre-release sorts after every pre-release of the same triple; build
    # metadata does not take part (1.2.3+a equals 1.2.3+b, as in Unleash's engine).
    pre_key = tuple(_ident(part) for part in pre.split(".")) if pre else ()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre_key)


def _ident(part: str) -> tuple[int, int, str]:
    # numeric identifiers sort before alphanumeric ones, numerically among themselves
    return (0, int(part), "") if part.isdigit() else (1, 0, part)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network(text: str) -> Network | None:
    """An address or a CIDR block (host bits allowed, as the engine allows them), or None."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def within(value: str, networks: list[Network]) -> bool:
    """Is the address ``value`` in one of ``networks``? (Not an address: no.)"""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return any(address in block for block in networks)

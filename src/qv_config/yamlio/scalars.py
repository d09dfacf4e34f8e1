"""YAML 1.2 core schema resolution of plain scalars (shared by the strict loader and the writer).

Only *plain* (unquoted, non-block) scalars are resolved; quoted and block scalars are strings.
Anything outside the core schema's regular expressions stays a string, so ``NO``, ``off``,
``1_000``, ``0b101`` and ``2026-01-01`` are strings, ``0777`` is 777 and ``1e6`` is 1000000.0.
"""

from __future__ import annotations

import re
from typing import Any

CONSTANTS: dict[str, Any] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}

_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
NUMERIC_START = frozenset("0123456789+-.")
"""First characters of a plain scalar that may be a number (``yamlio.lean`` inlines the test)."""


class NumberTooLong(ValueError):
    """An integer literal longer than Python's int/str conversion limit (4300 digits)."""


def resolve_plain(value: str) -> Any:
    """Value of a plain scalar under the YAML 1.2 core schema."""
    const = CONSTANTS.get(value, CONSTANTS)
    if const is not CONSTANTS:
        return const
    if not value or value[0] not in NUMERIC_START:
        return value  # the common case: a word; no regex needed
    return resolve_number(value)


def resolve_number(value: str) -> Any:
    """``resolve_plain`` of a scalar that is no constant and starts with ``NUMERIC_START``."""
    try:
        if (value.isdigit() and value.isascii()) or _INT.fullmatch(value):  # digits: no regex
            return int(_significant(value))
        if _FLOAT.fullmatch(value):
            return float(value)
        if _OCT.fullmatch(value):
            return int(value[2:], 8)
        if _HEX.fullmatch(value):
            return int(value[2:], 16)
    except ValueError as err:  # only int() of > 4300 significant digits fails after a match
        raise NumberTooLong(str(err)) from None
    return value


def _significant(digits: str) -> str:
    """Drop leading zeros so that only significant digits count toward Python's 4300 limit."""
    if len(digits) <= 4300:
        return digits
    sign = digits[0] if digits[0] in "+-" else ""
    return sign + (digits.lstrip("+-").lstrip("0") or "0")


def is_plain_safe_text(value: str) -> bool:
    """True when ``value`` written plain would be read back as this same string."""
    return type(resolve_plain(value)) is str

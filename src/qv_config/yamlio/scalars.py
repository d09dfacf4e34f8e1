"""YAML 1.2 core schema resolution of plain scalars (shared by the strict loader and the writer),
and which strings the writer may leave plain for YAML 1.1 readers too.

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


_CASES = (str.lower, str.title, str.upper)  # YAML 1.1's spellings of a word: yes, Yes, YES
# YAML 1.1 resolves more plain scalars than 1.2 does, and most tools that read qv's output are
# 1.1 readers (PyYAML, Go yaml.v2, Ruby Psych): ``yes``/``on``/``y`` are booleans, ``1_000``,
# ``0b11`` and ``12:30:45`` (base 60) integers, ``2001-12-14`` a date, ``=`` a tag PyYAML cannot
# even construct. The union of their implicit types (PyYAML's resolver; yaml.v2 also takes
# ``y``/``n`` and Go's number syntax, such as ``+Inf`` and ``1_0e5``); quoting more than needed
# never changes a value.
_YAML11_WORDS = frozenset(
    {case(word) for word in ("y", "yes", "n", "no", "on", "off", "null") for case in _CASES}
    | {"=", "~"}
)
_YAML11_NUMBER = re.compile(
    r"""[-+]?(?:0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)
       |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
       |[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?
       |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
       |[-+]?\.?(?:inf|infinity|nan)""",
    re.VERBOSE | re.IGNORECASE,
)
_YAML11_DATE = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?"
)


def is_plain_safe_text(value: str) -> bool:
    """True when ``value`` written plain would be read back as this same string, by qv (YAML 1.2
    core schema) and by a YAML 1.1 reader alike."""
    if type(resolve_plain(value)) is not str or value in _YAML11_WORDS:
        return False
    if not value or value[0] not in NUMERIC_START:
        return True  # a word: no regex (every 1.1 number and date starts so)
    return not (_YAML11_NUMBER.fullmatch(value) or _YAML11_DATE.fullmatch(value))

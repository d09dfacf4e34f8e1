"""The fast read path: yaml_rs (Rust, YAML 1.2 core), used only where it provably agrees.

``try_load(text)`` returns the document's value, or ``MISS`` whenever the strict path must decide:
the prefilter found something yaml_rs treats differently from qv (tags, anchors, aliases, merge
keys, document markers, directives, numbers with ``_`` or base prefixes yaml_rs accepts but the
core schema does not, characters libyaml reads differently), yaml_rs refused the text, the top
level is not a mapping, or a key is not a string. The strict path then produces the exact value,
or the exact error code and position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

import orjson
import yaml_rs

from qv_config.yamlio.scalars import resolve_plain

MISS: Final[Any] = object()
"""Sentinel: the fast path cannot vouch for this text."""

_HUGE = 10**4300
"""Integers this large have more digits than Python's int(str) accepts: the strict path refuses
them (QV101), so the fast path must not accept them either."""

# Characters yaml_rs and libyaml read differently (NEL, LS, PS are line breaks to libyaml only),
# or that libyaml refuses; plus the tag, anchor and alias indicators.
_DOUBTFUL_CHARS = re.compile(
    r"[!&*\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff\ud800-\udfff\ufffe\uffff]"
)
# Where a number yaml_rs accepts but the core schema does not may hide: '_' next to a digit
# (1_000, _1, 1e1_0), '0x_', or a base prefix the core schema lacks or signs it does not allow
# (0b1, 0X1F, -0x1F). Each hit is then checked on its whole token (see _numeric_token).
# Scanning with that one regex costs ~25 µs a file (a third of a cold load): '_' next to a digit
# is found with str.find instead, and the base-prefix part runs only when a prefix is present.
_BASE_HINT = re.compile(r"0[xXoObB]_|0[bBXO]|[-+]0[xXoObB]")
_BASE_PREFIXES = ("0x", "0X", "0o", "0O", "0b", "0B")
_DIGITS = frozenset("0123456789")
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")
# What yaml_rs may take for a number: digits with '_' anywhere, any base prefix, any sign.
_LIBERAL_NUMBER = re.compile(
    r"[-+]?(?:0[xXoObB][0-9a-fA-F_]*|[0-9_]*\.?[0-9_]*(?:[eE][-+]?[0-9_]*)?)"
)
_LINE_MARKERS = ("---", "...", "%")


def is_doubtful(text: str) -> bool:
    """True when yaml_rs might not give the strict path's value for ``text``."""
    if _DOUBTFUL_CHARS.search(text) is not None or "<<" in text:
        return True
    # document markers and directives at the start of a line (cheaper than a MULTILINE regex)
    if text.startswith(_LINE_MARKERS) or "\n---" in text or "\n..." in text or "\n%" in text:
        return True
    if any(_numeric_token(text, index) for index in _underscore_hints(text)):
        return True
    if not any(prefix in text for prefix in _BASE_PREFIXES):
        return False
    return any(_numeric_token(text, hit.start()) for hit in _BASE_HINT.finditer(text))


def _underscore_hints(text: str) -> list[int]:
    """Positions of '_' next to a digit (each inside the token _numeric_token then reads)."""
    out = []
    index = text.find("_")
    last = len(text) - 1
    while index != -1:
        if (index > 0 and text[index - 1] in _DIGITS) or (
            index < last and text[index + 1] in _DIGITS
        ):
            out.append(index)
        index = text.find("_", index + 1)
    return out


def _numeric_token(text: str, index: int) -> bool:
    """True when the token around ``index`` is a number to yaml_rs but a string to qv."""
    start = index
    while start > 0 and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    end = index
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    token = text[start:end]
    # mom_12_1 or a hex digest: yaml_rs reads these as strings too
    if _LIBERAL_NUMBER.fullmatch(token) is None:
        return False
    return type(resolve_plain(token)) is str


def try_load(text: str) -> Any:
    """The value of ``text`` if the fast path can vouch for it, else ``MISS``."""
    if is_doubtful(text):
        return MISS
    try:
        value = yaml_rs.loads(text, parse_datetime=False)
    except BaseException as err:  # any refusal: the strict path explains it precisely
        # pyo3 reports a Rust panic as a BaseException; let only real interrupts through.
        if isinstance(err, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        return MISS
    if type(value) is not dict or not _keys_ok(value):
        return MISS
    return value


def _keys_ok(mapping: dict[Any, Any]) -> bool:
    # orjson refuses non-string keys and integers beyond 64 bits in C, at a fraction of the cost
    # of walking in Python; only its refusals need the exact (slower) walk.
    try:
        orjson.dumps(mapping)
    except TypeError:
        return _walk_ok(mapping)
    return True


def _walk_ok(mapping: dict[Any, Any]) -> bool:
    return all(type(key) is str for key in mapping) and _values_ok(mapping.values())


def _values_ok(values: Iterable[Any]) -> bool:
    """No non-string key below, and no integer the strict path would refuse as too large."""
    for value in values:
        kind = type(value)
        if kind is dict:
            if not _walk_ok(value):
                return False
        elif kind is list:
            if not _values_ok(value):
                return False
        elif kind is int and not -_HUGE < value < _HUGE:
            return False
    return True

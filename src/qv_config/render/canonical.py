"""Canonical JSON of one rendered document: the single encoder of the desired state.

Rendering runs it on every document it returns (a failure is finding QV408 at the value's
file:line, and the document is left out), and ``desired_state`` encodes with it again: what
renders, and so what validates, is therefore exactly what ``sync``, ``drift`` and
``render --format json`` can write (tests/render/test_render_deployable.py checks this property).

orjson writes sorted keys without whitespace (SPEC §3). It refuses integers outside the signed
and unsigned 64-bit range, text with unpaired surrogates, non-string keys and nesting deeper than
``MAX_DEPTH``; it writes NaN and ±Infinity as ``null``, a silent change, so a ``null`` in the
output makes us look for them. The walk that names the offending value runs only on a failure.
"""

from __future__ import annotations

import math
from typing import Any

from qv_config.yamlio.types import FieldPath

MAX_DEPTH = 254  # containers orjson nests (the document's own mapping counts as one)
_SHOWN_DEPTH = 4
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


class NotDeployable(Exception):
    """The value at ``path`` cannot be written as canonical JSON; ``message`` says why."""

    def __init__(self, path: FieldPath, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def canonical_json(data: Any) -> bytes:
    """``data`` as canonical JSON bytes; raises NotDeployable naming the first bad value."""
    orjson = _ORJSON[0] if _ORJSON else _orjson()  # an import statement per document: ~1 %
    try:
        out: bytes = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError as err:  # orjson.JSONEncodeError
        raise _explained(data, str(err)) from None
    if b"null" in out:  # a None, a word in a string, or a NaN/Infinity orjson wrote as null
        found = first_problem(data)
        if found is not None:
            raise NotDeployable(*found)
    return out


_ORJSON: list[Any] = []  # the module, once imported (not at import time: ~30 ms)


def _orjson() -> Any:
    import orjson

    _ORJSON.append(orjson)
    return orjson


def _explained(data: Any, detail: str) -> NotDeployable:
    found = first_problem(data)
    if found is None:
        return NotDeployable((), f"the document cannot be written as JSON: {detail}")
    return NotDeployable(*found)


def first_problem(data: Any) -> tuple[FieldPath, str] | None:
    """The first value (in document order) canonical JSON cannot hold faithfully."""
    stack: list[tuple[FieldPath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        problem = _scalar_problem(value)
        if problem is not None:
            return path, problem
        if isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            # Named by an outer value: a path of 254 steps helps nobody.
            return path[:_SHOWN_DEPTH], (
                f"nesting deeper than {MAX_DEPTH} levels (below this value) cannot be written "
                "as JSON: flatten it"
            )
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str) or _unpaired(key):
                    # Reported at the mapping: the key itself may not be printable as it is.
                    return path, _bad_key(key)
            children = [((*path, key), item) for key, item in value.items()]
        elif isinstance(value, list):
            children = [((*path, pos), item) for pos, item in enumerate(value)]
        else:
            continue
        stack.extend(reversed(children))
    return None


def _bad_key(key: Any) -> str:
    if isinstance(key, str):  # an unpaired surrogate (the key itself may not print)
        return f"key {_short(key)} is not text JSON can hold: quote it"
    fix = "a mapping's keys must be text (a template's too): quote it"
    if key is None:
        return f"a null key is not text: {fix}"
    if isinstance(key, bool):
        return f"key {str(key).lower()} is a boolean, not text: {fix}"
    kind = "a number" if isinstance(key, int | float) else f"a {type(key).__name__}"
    return f"key {_short(key)} is {kind}, not text: {fix}"


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int) and not _INT_MIN <= value <= _INT_MAX:
        return (
            f"integer {_short(value)} is outside the 64-bit range that JSON readers accept: "
            "write it as a string or use a smaller number"
        )
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a JSON number: use a finite number"
    if isinstance(value, str) and _unpaired(value):
        return "text with an unpaired surrogate (\\ud800-\\udfff) is not UTF-8: remove it"
    return None


def _unpaired(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _short(value: Any) -> str:
    """A value for a message: huge integers by their size (str() of 10**10**8 takes minutes)."""
    if isinstance(value, int) and value.bit_length() > 64 * 4:
        return f"of {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def largest(data: Any) -> FieldPath:
    """Where most of a too-large document is: down through the child that holds over half."""
    import orjson

    path: list[str | int] = []
    node, size = data, len(canonical_json(data))
    while isinstance(node, dict | list):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        sizes = [
            (len(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)), key, value)
            for key, value in items
        ]
        if not sizes or max(sizes, key=lambda s: s[0])[0] * 2 < size:
            break
        size, key, node = max(sizes, key=lambda s: s[0])
        path.append(key)
    return tuple(path)

"""How long a formatted text would be, before it is made (``render/bounds.py`` refuses it above
``max_render_bytes``): ``'%…' % args``, ``|format``, ``str.format`` / ``format_map``.

Every directive and every field counts, each with its width and precision and the printed size
of the argument it takes: summed, never the largest. ``('%1000000s' * 400) % args`` is 400
widths of a million, and ``('{0}' * 400).format(big)`` prints ``big`` 400 times.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from qv_config.render.bounds import size_of

# printf directives: optional (key), flags, width (* or digits), precision (* or digits), type.
_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+)?)?[hlL]?([a-zA-Z%])")
_DIGITS = re.compile(r"\d+")
_FIELD_NAME = re.compile(r"[^.\[]*")  # "0.attr[1]" -> "0": the argument a field reads
_FIELD = 24  # what a number or a short value prints as, at most (float digits aside)
_FLOAT = 320  # '%f' % 1e308 prints 309 digits
_REPR = 4  # repr/ascii of text: an escape (\x00) is four characters for one


def percent_size(fmt: str, args: Any, limit: int) -> int:
    """``fmt % args``: the text, each directive's width and precision, each argument printed."""
    mapping = args if isinstance(args, Mapping) else None
    values = args if isinstance(args, tuple) else (args,)
    total, taken = len(fmt), 0
    for match in _PERCENT.finditer(fmt):
        key, width, precision, kind = match.groups()
        if kind == "%":
            continue
        for group in (width, precision):
            if group == "*":  # the width is the next argument
                total += _number(_at(values, taken))
                taken += 1
            elif group:
                total += int(group)
        if key is not None and mapping is not None:
            arg = mapping.get(key)
        else:
            arg, taken = _at(values, taken), taken + 1
        total += _printed(arg, kind, limit)
        if total > limit:
            break
    return total


def format_size(fmt: str, args: Sequence[Any], kwargs: Mapping[str, Any], limit: int) -> int:
    """``fmt.format(*args, **kwargs)``, nested fields (``{:>{}}``) included. A format string
    that does not parse counts as its text: ``str.format`` raises the same error."""
    total, auto = len(fmt), 0
    try:
        fields = list(string.Formatter().parse(fmt))
        for _literal, name, spec, conversion in fields:
            if name is None:
                continue
            arg, auto = _field(name, args, kwargs, auto)
            total += _printed(arg, conversion or "s", limit)
            for _lit, inner, _spec, _conv in string.Formatter().parse(spec or ""):
                if inner is not None:  # a width or precision taken from the arguments
                    width, auto = _field(inner, args, kwargs, auto)
                    total += _number(width)
            total += sum(int(digits) for digits in _DIGITS.findall(spec or ""))
            if total > limit:
                break
    except ValueError:
        return len(fmt)
    return total


def _field(name: str, args: Sequence[Any], kwargs: Mapping[str, Any], auto: int) -> tuple[Any, int]:
    """The argument a field reads (the whole argument for ``0.attr`` or ``0[key]``: what a part
    of it prints is smaller) and the next automatic index."""
    first = _FIELD_NAME.match(name)
    head = first.group() if first else ""
    if not head:
        return _at(args, auto), auto + 1
    if head.isdigit():
        return _at(args, int(head)), auto
    return kwargs.get(head), auto


def _at(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def _printed(arg: Any, kind: str, limit: int) -> int:
    size = _FIELD + size_of(arg, limit)
    if kind in ("r", "a"):
        size *= _REPR
    if isinstance(arg, float) and kind in ("f", "F", "%"):
        size += _FLOAT
    return size


def _number(value: Any) -> int:
    return abs(value) if isinstance(value, int) and not isinstance(value, bool) else 0

"""Template bounds of operators and calls (``render/bounds.py`` has the budget): each takes a step,
and one that would make a large value is refused before it runs."""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from typing import Any

from qv_config.render.bounds import (
    MAX_INT_BITS,
    MAX_ITEMS,
    Budget,
    Exceeded,
    check_value,
    current,
    size_of,
)
from qv_config.render.formatbounds import format_size, percent_size

# ------------------------------------------------------------------ operators


def on_binop(operator: str, left: Any, right: Any) -> None:
    budget = current()
    budget.step()
    if operator == "**":
        _power(left, right)
    elif operator == "*":
        _product(budget, left, right)
    elif operator == "+" and not isinstance(left, int | float):
        budget.too_large(size_in(budget, left) + size_in(budget, right), "the sum")
    elif operator == "%" and isinstance(left, str | bytes):
        fmt = left if isinstance(left, str) else left.decode("latin-1")  # one character a byte
        budget.too_large(percent_size(fmt, right, budget.limits.max_bytes), "the formatted text")


def size_in(budget: Budget, value: Any) -> int:
    return size_of(value, budget.limits.max_bytes)


def _power(left: Any, right: Any) -> None:
    if not (isinstance(left, int) and isinstance(right, int)) or right <= 0:
        return  # floats overflow with an error of their own; negative powers are floats
    if abs(left) > 1 and math.log2(abs(left)) * right > MAX_INT_BITS:
        raise Exceeded("QV234", f"the power would have more than {MAX_INT_BITS} bits")


def _product(budget: Budget, left: Any, right: Any) -> None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise Exceeded("QV234", f"the product would have more than {MAX_INT_BITS} bits")
        return
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | bytes) and isinstance(count, int):
            budget.too_large(len(seq) * count, "the repetition")
        elif isinstance(seq, list | tuple) and isinstance(count, int):
            if len(seq) * count > MAX_ITEMS:
                raise Exceeded("QV234", f"the repetition would hold more than {MAX_ITEMS:,} items")
            budget.too_large(size_in(budget, seq) * count, "the repetition")


# ------------------------------------------------------------------ calls


def on_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a call from a template: a step, its arguments' size, and amplifying methods."""
    budget = current()
    budget.step()
    for arg in (*args, *kwargs.values()):
        check_value(arg, "an argument")
    if isinstance(obj, types.BuiltinMethodType | types.MethodType | types.FunctionType):
        target = getattr(obj, "__wrapped__", obj)  # Jinja's wrapper of str.format
        owner = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if isinstance(owner, str | bytes | int) and not isinstance(owner, bool):
            _method(budget, owner, name, args, kwargs)


def _method(
    budget: Budget, owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    first = args[0] if args else next(iter(kwargs.values()), None)
    limit = budget.limits.max_bytes
    if name in ("center", "ljust", "rjust", "zfill", "to_bytes") and isinstance(first, int):
        budget.too_large(first, f"{name}()")
    elif name == "expandtabs" and isinstance(owner, str | bytes):
        tab = first if isinstance(first, int) else 8
        budget.too_large(len(owner) + _count(owner, "\t") * max(tab, 0), "expandtabs()")
    elif name == "replace" and isinstance(owner, str | bytes) and len(args) >= 2:
        budget.too_large(replaced_size(owner, args[0], args[1], args[2:]), "replace()")
    elif name == "join" and isinstance(owner, str | bytes):
        join_size(budget, owner, first)
    elif name == "translate" and isinstance(owner, str):
        budget.too_large(translated_size(owner, first), "translate()")
    elif name == "format" and isinstance(owner, str):
        budget.too_large(format_size(owner, args, kwargs, limit), "the formatted text")
    elif name == "format_map" and isinstance(owner, str) and isinstance(first, Mapping):
        budget.too_large(format_size(owner, (), first, limit), "the formatted text")


def _count(text: str | bytes, part: str) -> int:
    return text.count(part) if isinstance(text, str) else text.count(part.encode())


def replaced_size(text: Any, old: Any, new: Any, rest: tuple[Any, ...]) -> int:
    if type(old) is not type(text) or type(new) is not type(text):
        return len(text)  # the call fails on its own
    hits = text.count(old) if old else len(text) + 1
    count = rest[0] if rest and isinstance(rest[0], int) and rest[0] >= 0 else hits
    return len(text) + min(hits, count) * max(len(new) - len(old), 0)


def join_size(budget: Budget, sep: Any, items: Any) -> None:
    if isinstance(items, list | tuple | range | str):
        size = size_in(budget, list(items) if isinstance(items, range) else items)
        budget.too_large(size + len(sep) * len(items), "join()")


_COUNTED = 64  # longer replacements than this many are not counted one by one


def translated_size(text: str, table: Any) -> int:
    """``text.translate(table)``: each character the table maps to a longer text counts that
    text's length (counted in ``text`` for a few such entries, else assumed everywhere)."""
    if isinstance(table, Mapping):
        entries = table.items()
    elif isinstance(table, list | tuple):  # a sequence indexed by code point works as well
        entries = enumerate(table)  # type: ignore[assignment]
    else:
        return len(text)
    longer = [(key, len(new)) for key, new in entries if isinstance(new, str) and len(new) > 1]
    if len(longer) > _COUNTED:
        return len(text) * max(size for _key, size in longer)
    total = len(text)
    for key, size in longer:
        if isinstance(key, int) and 0 <= key <= 0x10FFFF:
            total += text.count(chr(key)) * (size - 1)
    return total

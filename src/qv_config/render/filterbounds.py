"""Template bounds of Jinja2's filters (``render/bounds.py`` has the budget and the rest): each
filter takes a step, and those that can build a large value are checked before they run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from qv_config.render.bounds import (
    MAX_ITEMS,
    Budget,
    Exceeded,
    check_value,
    current,
    join_size,
    percent_widths,
    replaced_size,
    size_in,
)


def _filter_center(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    width = args[1] if len(args) > 1 else kwargs.get("width", 80)
    if isinstance(width, int):
        budget.too_large(width, "center")


def _filter_indent(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    text = str(args[0]) if args else ""
    width = args[1] if len(args) > 1 else kwargs.get("width", 4)
    pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    budget.too_large(len(text) + (text.count("\n") + 1) * max(pad, 0), "indent")


def _filter_format(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if args and isinstance(args[0], str):
        percent_widths(budget, args[0], (*args[1:], kwargs))


# The checks below get a filter's arguments without Jinja's context/environment argument.


def _filter_replace(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # replace(s, old, new, count=None)
    if len(args) >= 3:
        rest = args[3:] or ((kwargs["count"],) if "count" in kwargs else ())
        budget.too_large(replaced_size(str(args[0]), str(args[1]), str(args[2]), rest), "replace")


def _filter_join(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # join(value, d='', attribute=None)
    if args:
        sep = args[1] if len(args) > 1 else kwargs.get("d", "")
        join_size(budget, str(sep), args[0])


def _filter_wordwrap(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # wordwrap(s, width=79, break_long_words=True, wrapstring=None, ...)
    text = str(args[0]) if args else ""
    wrap = args[3] if len(args) > 3 else kwargs.get("wrapstring") or "\n"
    budget.too_large(len(text) * (1 + len(str(wrap))), "wordwrap")


def _filter_count(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # batch(value, linecount, fill_with=None), slice(value, slices, fill_with=None)
    count = args[1] if len(args) > 1 else next(iter(kwargs.values()), 0)
    if isinstance(count, int) and count > MAX_ITEMS:
        raise Exceeded("QV234", f"{count:,} is above {MAX_ITEMS:,} items")


def _filter_printed(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    budget.too_large(size_in(budget, args[0] if args else None), "the printed value")


def _filter_sum(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # sum(iterable, attribute=None, start=0): adding lists copies them each time
    items = args[0] if args else ()
    start = args[2] if len(args) > 2 else kwargs.get("start", 0)
    if isinstance(items, list | tuple) and not isinstance(start, int | float):
        copied = sum(size_in(budget, item) for item in items[: MAX_ITEMS + 1])
        budget.too_large(copied * min(len(items), 64), "sum")


_FILTER_CHECKS: dict[str, Callable[[Budget, tuple[Any, ...], dict[str, Any]], None]] = {
    "center": _filter_center,
    "indent": _filter_indent,
    "format": _filter_format,
    "replace": _filter_replace,
    "join": _filter_join,
    "wordwrap": _filter_wordwrap,
    "batch": _filter_count,
    "slice": _filter_count,
    "string": _filter_printed,
    "tojson": _filter_printed,
    "pprint": _filter_printed,
    "urlencode": _filter_printed,
    "xmlattr": _filter_printed,
    "list": _filter_printed,
    "sum": _filter_sum,
}


def wrap_filters(filters: dict[str, Any]) -> None:
    """Every filter takes a step, checks what it is about to make, and the size of its result."""
    for name, func in list(filters.items()):
        filters[name] = _wrapped(name, func)


def _wrapped(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    from functools import update_wrapper

    check = _FILTER_CHECKS.get(name)
    # Filters marked pass_context / pass_eval_ctx / pass_environment get that object first.
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    def run(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        if check is not None:
            check(budget, args[skip:], kwargs)
        return check_value(func(*args, **kwargs), f"the result of filter {name!r}")

    return update_wrapper(run, func)  # keeps jinja_pass_arg (context, eval_ctx, environment)

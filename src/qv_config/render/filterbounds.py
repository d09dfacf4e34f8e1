"""Template bounds of Jinja2's filters (``render/bounds.py`` has the budget and the rest): each
filter takes a step, those that can build a large value are checked before they run, a slow one
counts its work in steps before it runs, and the clock is read once it returns."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from types import GeneratorType
from typing import Any

from qv_config.render.bounds import MAX_ITEMS, Budget, Exceeded, check_value, current
from qv_config.render.callbounds import join_size, replaced_size, size_in
from qv_config.render.formatbounds import percent_size


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
    # format(value, *args, **kwargs): value % (kwargs or args)
    if args and isinstance(args[0], str):
        size = percent_size(args[0], kwargs or args[1:], budget.limits.max_bytes)
        budget.too_large(size, "the formatted text")


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
    width = _arg(args, kwargs, 1, "width", 79)
    budget.work(wrap_work(text, width if isinstance(width, int) else 79), "wordwrap")


_SPACES = re.compile(r"\s+")
_LONG_WORD = re.compile(r"\S{1000,}")
_CHUNK_STEPS = 2  # textwrap handles a chunk (a word, a space, a piece of a long word) in ~2 µs
_COPIED_PER_STEP = 10_000  # characters copied in about a step's time (~1 µs)


def wrap_work(text: str, width: int) -> int:
    """``textwrap``'s time in steps: ~2 per chunk, and the copies of a long word cut into lines
    (each cut copies the rest of the word again: quadratic, 5 s for a 500,000-character word)."""
    width = max(width, 1)
    chunks = 2 * _SPACES.subn("", text)[1] + len(text) // width + 1
    copied = sum((m.end() - m.start()) ** 2 // (2 * width) for m in _LONG_WORD.finditer(text))
    return chunks * _CHUNK_STEPS + copied // _COPIED_PER_STEP


def _filter_count(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # batch(value, linecount, fill_with=None), slice(value, slices, fill_with=None)
    count = args[1] if len(args) > 1 else next(iter(kwargs.values()), 0)
    if isinstance(count, int) and count > MAX_ITEMS:
        raise Exceeded("QV234", f"{count:,} is above {MAX_ITEMS:,} items")


def _filter_printed(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    budget.too_large(size_in(budget, args[0] if args else None), "the printed value")


def _filter_tojson(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # tojson(value, indent=None): with an indent, each item on a line of its own, indented
    indent = _arg(args, kwargs, 1, "indent", None)
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    _indented(budget, args[0] if args else None, max(width, 0))


def _filter_pprint(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _indented(budget, args[0] if args else None, 1)  # pprint.pformat indents one per level


def _indented(budget: Budget, value: Any, width: int) -> None:
    limit = budget.limits.max_bytes
    budget.too_large(size_in(budget, value) + indentation(value, width, limit), "the printed value")


def indentation(value: Any, width: int, limit: int) -> int:
    """What pretty-printing adds to ``value``: a line break and ``width`` per level for each
    item (stops counting once above ``limit``)."""
    total, stack = 0, [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        total += 1 + width * depth
        if isinstance(item, Mapping):
            stack.extend((sub, depth + 1) for sub in item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend((sub, depth + 1) for sub in item)
    return total


def _filter_urlize(budget: Budget, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    # urlize(value, trim_url_limit=None, nofollow=False, target=None, rel=None, extra_schemes)
    text = str(args[0]) if args else ""
    added = sum(len(str(_arg(args, kwargs, at, name, "") or "")) for at, name in _URLIZE_TEXT)
    budget.too_large(_urlized(text, _URLIZE_LINK + added, budget.limits.max_bytes), "urlize")


_URLIZE_TEXT = ((3, "target"), (4, "rel"))
_URLIZE_LINK = 64  # '<a href="https://…" rel="nofollow noopener" target="">…</a>' around a word


def _urlized(text: str, per_word: int, limit: int) -> int:
    """Each word twice (the link and its text), HTML-escaped, with ``per_word`` around it;
    words are counted only when guessing every second character a word is too many."""
    escaped = len(text) + 4 * sum(text.count(char) for char in "&<>\"'")
    size = 2 * escaped + (len(text) // 2 + 1) * per_word
    if size > limit:
        size = 2 * escaped + (_SPACES.subn("", text)[1] + 1) * per_word
    return size


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], at: int, name: str, default: Any) -> Any:
    """A filter's argument given by position ``at`` (the value is 0) or by ``name``."""
    return args[at] if len(args) > at else kwargs.get(name, default)


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
    "tojson": _filter_tojson,
    "pprint": _filter_pprint,
    "urlize": _filter_urlize,
    "urlencode": _filter_printed,
    "xmlattr": _filter_printed,
    "list": _filter_printed,
    "sum": _filter_sum,
}


def counted(items: Iterator[Any], what: str) -> Iterator[Any]:
    """A lazy filter's items, their size counted as they are made: ``l | map('lower') | join``
    made a new text per item, all of them before ``join`` or ``list`` returned."""
    budget = current()
    total = 0
    for item in items:
        total += len(item) if type(item) is str else size_in(budget, item)
        budget.too_large(total, what)
        yield item


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
        result = func(*args, **kwargs)
        budget.clock()  # one slow filter is stopped once it returns
        if isinstance(result, GeneratorType):  # map, select, unique, batch…: made item by item
            return counted(result, f"the items of filter {name!r}")
        return check_value(result, f"the result of filter {name!r}")

    return update_wrapper(run, func)  # keeps jinja_pass_arg (context, eval_ctx, environment)

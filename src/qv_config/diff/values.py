"""Short, readable renderings of values inside diffs (long lists folded with a count)."""

from __future__ import annotations

from typing import Any

import orjson

from qv_config.diff.model import FieldChange
from qv_config.diff.secretdiff import SECRET_CHANGED

MAX_ITEMS = 6
MAX_CHARS = 120


def show(value: Any) -> str:
    """A scalar as YAML would show it; containers compact, folded past ``MAX_ITEMS``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else repr(value)
    if isinstance(value, str):
        return _clip(orjson.dumps(value).decode())
    if isinstance(value, list):
        return _show_list(value)
    if isinstance(value, dict):
        return _clip(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
    return _clip(str(value))


def _show_list(items: list[Any]) -> str:
    shown = ", ".join(show(item) for item in items[:MAX_ITEMS])
    more = len(items) - MAX_ITEMS
    return _clip(f"[{shown}, … {more} more]" if more > 0 else f"[{shown}]")


def show_order(old: list[str], new: list[str]) -> str:
    """``[a, b, c] → [c, a, b]``: the names of a reordered list, each side's order. A long list
    shows the stretch that moved, the items the sides share before and after it counted (folding
    the first ``MAX_ITEMS`` would hide a move further down)."""
    if len(old) <= MAX_ITEMS:
        return f"{_names(old)} → {_names(new)}"
    head = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
    tail = next(i for i, (a, b) in enumerate(zip(old[::-1], new[::-1], strict=True)) if a != b)
    return f"{_names(old, head, tail)} → {_names(new, head, tail)}"


def _names(names: list[str], head: int = 0, tail: int = 0) -> str:
    moved = names[head : len(names) - tail]
    shown = ", ".join(show(name) for name in moved[:MAX_ITEMS])
    if len(moved) > MAX_ITEMS:
        shown += f", … {len(moved) - MAX_ITEMS} more"
    before = [f"… {head} same"] if head else []
    after = [f"{tail} same …"] if tail else []
    return _clip("[" + ", ".join([*before, shown, *after]) + "]")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


DECRYPTED = "(decrypted)"


def describe(change: FieldChange) -> str:
    """``old → new`` (or ``added: v`` / ``removed: v``); secrets shown only when revealed."""
    if change.revealed:
        return f"{show(change.old)} → {show(change.new)} {DECRYPTED}"
    if change.secret:
        if change.op == "changed":
            return change.note or SECRET_CHANGED
        return f"(secret {change.op})"
    if change.op == "reordered":
        return f"order changed: {show_order(change.old, change.new)}"
    if change.op == "added":
        return f"added: {show(change.new)}"
    if change.op == "removed":
        return f"removed (was {show(change.old)})"
    return f"{show(change.old)} → {show(change.new)}"

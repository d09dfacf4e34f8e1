"""Bounds on templating one document (SPEC §3.4; docs/format.md, ``spec.limits``).

Each document gets a budget: at most ``max_render_seconds`` of wall-clock time and at most
``MAX_STEPS`` template steps (calls, filters, the operators ``*`` ``**`` ``%`` ``+``, loop
iterations), and no value, output or rendered document above ``max_render_bytes``. Running out of
time or steps is QV233; a value too large is QV234.

No thread and no signal (rendering runs in forked workers and in the agent's threads): the
sandbox calls the hooks below from its own call, filter, operator, loop and output paths, and each
hook checks the budget. An operation that would *make* a large value (padding widths, format
widths, repetition, ``replace``, ``join``, powers) is refused before it runs: a check after a
1 GB allocation would come too late. The step count makes the common hostile cases (nested
loops, recursive macros) stop at the same place on every machine.
"""

from __future__ import annotations

import math
import re
import string
import sys
import types
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from time import monotonic
from typing import Any

DEFAULT_SECONDS = 1.0
DEFAULT_BYTES = 1 << 20  # 1 MiB, as max_file_bytes: a document is a few KiB
MAX_STEPS = 1_000_000
MAX_ITEMS = 100_000  # range() and list repetition (Jinja's own bound on range)
MAX_INT_BITS = 4096  # canonical JSON holds 64 bits; a little room for arithmetic on the way
_LOOP_CLOCK = 64  # loop iterations between two looks at the clock


class Exceeded(Exception):
    """A template went over its budget: ``code`` QV233 (time, steps) or QV234 (size)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RenderLimits:
    seconds: float = DEFAULT_SECONDS
    max_bytes: int = DEFAULT_BYTES

    @classmethod
    def of(cls, limits: Mapping[str, float] | None) -> RenderLimits:
        """From ``qv.yaml``'s ``spec.limits`` (only what it sets)."""
        limits = limits or {}
        return cls(
            float(limits.get("max_render_seconds", DEFAULT_SECONDS)),
            int(limits.get("max_render_bytes", DEFAULT_BYTES)),
        )


class Budget:
    """What one document may still spend. ``deadline`` starts at the first step."""

    __slots__ = ("deadline", "limits", "max_steps", "steps")

    def __init__(self, limits: RenderLimits, max_steps: int = MAX_STEPS) -> None:
        self.limits = limits
        self.max_steps = max_steps
        self.steps = 0
        self.deadline = 0.0

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps:
            raise Exceeded(
                "QV233", f"template took more than {self.max_steps:,} steps (loops and calls)"
            )
        self._clock()

    def loop_step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps or not self.steps % _LOOP_CLOCK:
            self.step()

    def _clock(self) -> None:
        now = monotonic()
        if not self.deadline:
            self.deadline = now + self.limits.seconds
        elif now > self.deadline:
            raise Exceeded(
                "QV233",
                f"template ran longer than {self.limits.seconds:g} s "
                "(qv.yaml spec.limits.max_render_seconds)",
            )

    def too_large(self, size: int, what: str) -> None:
        if size > self.limits.max_bytes:
            raise Exceeded(
                "QV234",
                f"{what} would be {_amount(size)} long, above the {self.limits.max_bytes:,} "
                "that qv.yaml spec.limits.max_render_bytes allows",
            )


DEFAULT_LIMITS = RenderLimits()


def _amount(size: int) -> str:
    return f"{size:,} characters" if size < 10**15 else "far too large"


# Outside a document (Jinja folding constants while compiling, a test calling a template): the
# size bound still holds; time and steps are not counted.
_UNTIMED = Budget(RenderLimits(math.inf), sys.maxsize)
_CURRENT: ContextVar[Budget] = ContextVar("qv_render_budget", default=_UNTIMED)


def begin(limits: RenderLimits) -> Any:
    """Start one document's budget; pass the token to ``end``."""
    return _CURRENT.set(Budget(limits))


def end(token: Any) -> None:
    _CURRENT.reset(token)


def current() -> Budget:
    return _CURRENT.get()


# ------------------------------------------------------------------ sizes


def size_of(value: Any, limit: int) -> int:
    """About how many characters ``value`` prints as; stops counting once above ``limit``.

    Counts shared references again (``[x, x]``), as printing does, but never walks more than
    ``limit`` nodes, so a value built by doubling cannot make the count itself slow."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        total += 2
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            stack.extend(item)
        elif isinstance(item, range):
            total += len(item) * (len(str(item.stop)) + 2)
    return total


def check_value(value: Any, what: str = "the value") -> Any:
    """``value`` if it prints within the size bound."""
    budget = current()
    if type(value) is str:
        budget.too_large(len(value), what)
    elif isinstance(value, str | bytes | Mapping | list | tuple | set | frozenset | range):
        budget.too_large(size_of(value, budget.limits.max_bytes), what)
    return value


def joined(chunks: Iterable[str]) -> str:
    """A template's output, counted chunk by chunk (a loop printing forever stops early)."""
    budget = current()
    total, out = 0, []
    for chunk in chunks:
        total += len(chunk)
        budget.too_large(total, "the template's output")
        out.append(chunk)
    return "".join(out)


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
    elif operator == "%" and isinstance(left, str):
        percent_widths(budget, left, right)


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


# ------------------------------------------------------------------ format widths

# printf directives: optional (key), flags, width (* or digits), precision (* or digits).
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+)?)?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def percent_widths(budget: Budget, fmt: str, args: Any) -> None:
    widths, star = 0, False
    for match in _PERCENT.finditer(fmt):
        for group in match.groups():
            if group == "*":
                star = True
            elif group:
                widths = max(widths, int(group))
    if star:  # a width taken from the arguments
        widths = max(widths, _largest_int(args))
    budget.too_large(len(fmt) + widths, "the formatted text")


def check_format(fmt: str, args: Any, kwargs: Any) -> None:
    """``str.format`` / ``format_map``: widths and precisions of every field, nested ones too."""
    budget = current()
    widths, nested = 0, False
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # str.format will raise the same error
    for _literal, _name, spec, _conv in fields:
        if spec:
            nested = nested or "{" in spec
            widths = max(widths, *(int(d) for d in _DIGITS.findall(spec)), 0)
    if nested:
        widths = max(widths, _largest_int(args), _largest_int(kwargs))
    budget.too_large(len(fmt) + widths, "the formatted text")


def _largest_int(value: Any, depth: int = 3) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return abs(value)
    if depth and isinstance(value, Mapping):
        value = list(value.values())
    if depth and isinstance(value, list | tuple):
        return max((_largest_int(item, depth - 1) for item in value[:1000]), default=0)
    return 0


# ------------------------------------------------------------------ calls and filters


def on_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Before a call from a template: a step, its arguments' size, and amplifying methods."""
    budget = current()
    budget.step()
    what = "the text joined with ~" if obj is same else "an argument"
    for arg in (*args, *kwargs.values()):
        check_value(arg, what)
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
    if name in ("center", "ljust", "rjust", "zfill", "to_bytes") and isinstance(first, int):
        budget.too_large(first, f"{name}()")
    elif name == "expandtabs" and isinstance(owner, str | bytes):
        tab = first if isinstance(first, int) else 8
        budget.too_large(len(owner) + _count(owner, "\t") * max(tab, 0), "expandtabs()")
    elif name == "replace" and isinstance(owner, str | bytes) and len(args) >= 2:
        budget.too_large(replaced_size(owner, args[0], args[1], args[2:]), "replace()")
    elif name == "join" and isinstance(owner, str | bytes):
        join_size(budget, owner, first)
    elif name in ("format", "format_map") and isinstance(owner, str):
        check_format(owner, args, kwargs)


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


# ------------------------------------------------------------------ loops and range


def loop(iterable: Any) -> Iterator[Any]:
    """A ``{% for %}`` loop's items, each a step (the sandbox wraps every loop in this)."""
    budget = current()
    for item in iterable:
        budget.loop_step()
        yield item


def same(value: Any) -> Any:
    """A ``~`` concatenation in a statement, called so that its size is checked as an argument."""
    return value


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_ITEMS:
        raise Exceeded("QV234", f"range() of {len(numbers):,} items is above {MAX_ITEMS:,}")
    return numbers


def instrument(tree: Any) -> Any:
    """Make a parsed template call ``loop`` around each ``for`` and ``same`` around each ``~``
    (statements only: ``{% set x = x ~ x %}`` doubles a value without any other hook)."""
    from jinja2 import nodes
    from jinja2.visitor import NodeTransformer

    def call(name: str, node: Any) -> Any:
        target = nodes.ImportedName(f"{__name__}.{name}", lineno=node.lineno)
        return nodes.Call(target, [node], [], None, None, lineno=node.lineno)

    class Instrument(NodeTransformer):
        def visit_For(self, node: Any) -> Any:
            self.generic_visit(node)
            node.iter = call("loop", node.iter)
            return node

        def visit_Concat(self, node: Any) -> Any:
            self.generic_visit(node)
            return call("same", node)

    return Instrument().visit(tree)

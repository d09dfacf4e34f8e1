"""Bounds on templating one document (SPEC §3.4; docs/format.md, ``spec.limits``).

Each document gets a budget: at most ``max_render_seconds`` of wall-clock time and at most
``MAX_STEPS`` template steps (calls, filters, the operators ``*`` ``**`` ``%`` ``+``, loop
iterations), and no value, output or rendered document above ``max_render_bytes``. Running out of
time or steps is QV233; a value too large is QV234.

No thread and no signal (rendering runs in forked workers and in the agent's threads): the
sandbox calls the hooks below (and ``callbounds``, ``filterbounds``, ``capture``) from its own
call, filter, operator, loop and output paths, and each hook checks the budget; the clock is
read before and after each call and filter. An operation that would *make* a large value
(padding widths, format widths, repetition, ``replace``, ``join``, powers) is refused before it
runs: a check after a 1 GB allocation would come too late. Text is counted while it grows, the
document's output, text a template captures (``{% set %}`` blocks, macros) and each document's
templated values together alike. The step count makes the common hostile cases (nested loops,
recursive macros) stop at the same place on every machine; a slow filter (``wordwrap``) counts
its work in steps before it runs.
"""

from __future__ import annotations

import math
import sys
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
        self.clock()

    def loop_step(self) -> None:
        self.steps += 1
        if self.steps > self.max_steps or not self.steps % _LOOP_CLOCK:
            self.step()

    def clock(self) -> None:
        now = monotonic()
        if not self.deadline:
            self.deadline = now + self.limits.seconds
        elif now > self.deadline:
            raise Exceeded(
                "QV233",
                f"template ran longer than {self.limits.seconds:g} s "
                "(qv.yaml spec.limits.max_render_seconds)",
            )

    def work(self, units: int, what: str) -> None:
        """Steps for a call that takes as long as ``units`` steps: a slow filter on long text is
        stopped before it runs past the time bound, at the same place on every machine."""
        self.steps += units
        if self.steps > self.max_steps:
            raise Exceeded(
                "QV233",
                f"{what} would take about {units:,} steps, above the {self.max_steps:,} a "
                "document's templates may take",
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


def joined(chunks: Iterable[str], what: str = "the template's output") -> str:
    """A template's output, counted chunk by chunk (a loop printing forever stops early)."""
    budget = current()
    total, out = 0, []
    for chunk in chunks:
        total += len(chunk)
        budget.too_large(total, what)
        out.append(chunk)
    return "".join(out)


def concat(parts: Iterable[Any]) -> str:
    """``a ~ b ~ …`` (one call for the whole chain: ``x ~ x ~ …`` 400 times is one step), its
    text counted as it grows; a part that is not text is checked before it is printed."""
    return joined(_texts(parts), "the text joined with ~")


def _texts(parts: Iterable[Any]) -> Iterator[str]:
    for part in parts:
        yield part if type(part) is str else str(check_value(part, "a part joined with ~"))


# ------------------------------------------------------------------ loops and range


def loop(iterable: Any) -> Iterator[Any]:
    """A ``{% for %}`` loop's items, each a step (the sandbox wraps every loop in this)."""
    budget = current()
    for item in iterable:
        budget.loop_step()
        yield item


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        count = len(numbers)
    except OverflowError:  # more items than a C size holds (range(10**30))
        count = sys.maxsize
    if count > MAX_ITEMS:
        raise Exceeded("QV234", f"range() of {_items(count)} is above {MAX_ITEMS:,}")
    return numbers


def _items(count: int) -> str:
    return f"{count:,} items" if count < sys.maxsize else "far too many items"


def instrument(tree: Any) -> Any:
    """Make a parsed template call ``loop`` around each ``for`` (``~`` and captured text are
    bounded by the code generator: ``render/capture.py``)."""
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

    return Instrument().visit(tree)

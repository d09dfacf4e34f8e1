"""One Python function per strategy, written at load: its constraints and rollout inline.

A closure per constraint costs a Python call per field read and per test (~60 ns each); the
generated function reads each field once, tests IN/NOT_IN as set look-ups and buckets a rollout
with one ``mmh3`` call, so ``is_enabled`` of a flexibleRollout with two constraints is a couple
of calls. Nothing from a document is pasted into the source as code: field names enter as
``repr()`` string literals and every value (sets, checks, prefixes) as a bound name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import mmh3

from qv_config.flags.constraints import Predicate, ValueTest, always
from qv_config.flags.context import STANDARD_FIELDS, text
from qv_config.flags.values import number


@dataclass(frozen=True)
class Rollout:
    """``pct`` % by murmur3 bucket of ``prefix + id``, the id read from ``fields`` in order;
    without one, ``coin(pct)`` when ``coin`` is set, else off."""

    pct: int
    prefix: str
    fields: tuple[str, ...]
    coin: Callable[[int], bool] | None


Rule = Predicate | Rollout


# Numbers read from contexts, by their text: float() and the checks of Rust's syntax cost ~0.2 us,
# a third of a whole evaluation; values that recur (sizes, tiers, versions, notionals of a book)
# are read once. Bounded: emptied when full. Shared by all states and threads (a dict's get and
# set are atomic; a race costs one parse more).
_NUMBERS: dict[str, float | None] = {}
_NUMBERS_MAX = 4096
_MISS = object()


def remember_number(value: str) -> float | None:
    """``values.number(value)``, kept in the memo."""
    parsed = number(value)
    if len(_NUMBERS) >= _NUMBERS_MAX:
        _NUMBERS.clear()
    _NUMBERS[value] = parsed
    return parsed


def as_text(value: Any) -> str | None:
    """A standard field's value that is not a str: None stays None, others become text."""
    return None if value is None else text(value)


def flat(value: Any, ctx: Mapping[str, Any], field: str) -> str | None:
    """A custom field that ``properties`` does not hold as a str: a flat field, or text."""
    if value is None and field != "properties":
        value = ctx.get(field)
    return as_text(value)


class _Writer:
    def __init__(self) -> None:
        self.lines = ["def test(ctx):", "    props = ctx.get('properties')"]
        self.bound: dict[str, Any] = {
            "as_text": as_text, "flat": flat, "hash32": mmh3.hash,
            "numbers": _NUMBERS, "MISS": _MISS, "remember": remember_number,
        }  # fmt: skip
        self.read_vars: dict[str, str] = {}

    def bind(self, value: Any) -> str:
        name = f"_b{len(self.bound)}"
        self.bound[name] = value
        return name

    def read(self, field: str) -> str:
        """The variable holding ``field``'s value as text or None (read once)."""
        if field in self.read_vars:
            return self.read_vars[field]
        var = self.read_vars[field] = f"v{len(self.read_vars)}"
        key = repr(field)
        # one test on the common path (a str); None, flat fields and other types take the call
        if field in STANDARD_FIELDS:
            self.lines.append(f"    {var} = ctx.get({key})")
            self.lines.append(f"    if {var}.__class__ is not str: {var} = as_text({var})")
        else:
            self.lines.append(f"    {var} = props.get({key}) if props else None")
            self.lines.append(f"    if {var}.__class__ is not str: {var} = flat({var}, ctx, {key})")
        return var

    def constraint(self, test: ValueTest) -> None:
        var = self.read(test.field)
        if test.members is not None:
            members = self.bind(test.members)
            if test.member:
                self.lines.append(f"    if {var} is None or {var} not in {members}: return False")
            else:
                self.lines.append(f"    if {var} is not None and {var} in {members}: return False")
        elif test.numeric is not None:
            self.number(var, *test.numeric, negate=test.negate)
        else:
            self.lines.append(f"    if not {self.bind(test.check)}({var}): return False")

    def number(self, var: str, symbol: str, target: float, *, negate: bool) -> None:
        """NUM_* inline: the value's number from the parse memo (``values.number`` on a miss)."""
        ok, parsed, bound = f"ok{len(self.lines)}", f"n{len(self.lines)}", self.bind(target)
        self.lines += [
            f"    {ok} = False",
            f"    if {var} is not None:",
            f"        {parsed} = numbers.get({var}, MISS)",
            f"        if {parsed} is MISS: {parsed} = remember({var})",
            f"        {ok} = {parsed} is not None and {parsed} {symbol} {bound}",
            f"    if {'' if negate else 'not '}{ok}: return False",
        ]

    def rule(self, rule: Rule) -> None:
        if rule is always:
            self.lines.append("    return True")
            return
        if not isinstance(rule, Rollout):
            self.lines.append(f"    return {self.bind(rule)}(ctx)")
            return
        prefix, pct = self.bind(rule.prefix), self.bind(rule.pct)
        for field in rule.fields:
            var = self.read(field)
            self.lines.append(
                f"    if {var} is not None: return hash32({prefix} + {var}, 0, False) % 100 < {pct}"
            )
        fallback = f"{self.bind(rule.coin)}({pct})" if rule.coin else "False"
        self.lines.append(f"    return {fallback}")


def strategy_function(rule: Rule, tests: Sequence[ValueTest]) -> Predicate:
    """``rule`` and every test of ``tests`` as one function of a context."""
    writer = _Writer()
    for test in tests:
        writer.constraint(test)
    writer.rule(rule)
    namespace = dict(writer.bound)
    exec(compile("\n".join(writer.lines), "<qv flag strategy>", "exec"), namespace)
    function: Predicate = namespace["test"]
    return function

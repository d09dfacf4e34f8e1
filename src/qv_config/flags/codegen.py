"""One Python function per strategy, written at load: its constraints and rollout inline.

A closure per constraint costs a Python call per field read and per test (~60 ns each); the
generated function reads each field once, tests IN/NOT_IN as set look-ups and buckets a rollout
with one ``mmh3`` call, so ``is_enabled`` of a flexibleRollout with two constraints is a couple
of calls. Nothing from a document is pasted into the source as code: field names enter as
``repr()`` string literals and every value (sets, checks, prefixes) as a bound name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mmh3

from qv_config.flags.constraints import Predicate, ValueTest, always
from qv_config.flags.context import STANDARD_FIELDS, text


@dataclass(frozen=True)
class Rollout:
    """``pct`` % by murmur3 bucket of ``prefix + id``, the id read from ``fields`` in order;
    without one, ``coin(pct)`` when ``coin`` is set, else off."""

    pct: int
    prefix: str
    fields: tuple[str, ...]
    coin: Callable[[int], bool] | None


Rule = Predicate | Rollout


class _Writer:
    def __init__(self) -> None:
        self.lines = ["def test(ctx):", "    props = ctx.get('properties')"]
        self.bound: dict[str, Any] = {"text": text, "hash32": mmh3.hash}
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
        if field in STANDARD_FIELDS:
            self.lines.append(f"    {var} = ctx.get({key})")
        else:
            self.lines.append(f"    {var} = props.get({key}) if props else None")
            if field != "properties":  # a flat custom field, unless it is the properties
                self.lines.append(f"    if {var} is None: {var} = ctx.get({key})")
        # one test for the common case (a str); None stays None, anything else becomes text
        self.lines.append(
            f"    if {var}.__class__ is not str and {var} is not None: {var} = text({var})"
        )
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
        """NUM_* inline: ``values.number``'s rule (Rust's f64 syntax: float() without blanks
        around, "_" or non-ASCII digits) without the cost of calling it."""
        ok, parsed, bound = f"ok{len(self.lines)}", f"n{len(self.lines)}", self.bind(target)
        self.lines += [
            f"    {ok} = False",
            f"    if {var} is not None:",
            "        try:",
            f"            {parsed} = float({var})",
            "        except ValueError:",
            "            pass",
            "        else:",
            f"            {ok} = {parsed} {symbol} {bound} and {var}.isascii()"
            f" and '_' not in {var} and {var}.strip() == {var}",
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

"""Activation strategies compiled to predicates (Unleash's built-in eight).

A strategy is on when its own rule holds and every constraint holds, its segments' constraints
included. Parameters are read once, here: a parameter that is missing or not a whole number
makes the strategy off (as in Unleash's engine); a percentage above 100 makes the whole flag off
(``Uncompilable``: the engine refuses the flag); an unknown strategy name (a custom strategy qv
cannot run) is off; a segment id the document does not define makes the whole flag off (as
Unleash's engine has it).
"""

from __future__ import annotations

import os
import random
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qv_config.flags.codegen import Rollout, Rule, strategy_function
from qv_config.flags.constraints import Predicate, Uncompilable, always, never, value_test
from qv_config.flags.context import Context, getter
from qv_config.flags.values import network, within

Segments = Mapping[int, Sequence[Mapping[str, Any]]]
_USIZE = re.compile(r"\+?\d+\Z")


@dataclass(frozen=True)
class Stickiness:
    """How a rollout picks the identifier it hashes: ``fields`` in order, then maybe random."""

    fields: tuple[str, ...]
    random_fallback: bool


def stickiness(param: str | None) -> Stickiness:
    if param in (None, "default"):
        return Stickiness(("userId", "sessionId"), True)
    if param == "random":
        return Stickiness((), True)
    return Stickiness((str(param),), False)


def percentage(params: Mapping[str, Any], key: str, *, capped: bool = True) -> int | None:
    """A whole percentage parameter; None when missing or not a number."""
    raw = params.get(key)
    if not isinstance(raw, str) or _USIZE.match(raw) is None:
        return None
    value = int(raw)
    if capped and value > 100:
        raise Uncompilable(f"{key} {raw!r} is above 100")
    return value


def coin(pct: int) -> bool:
    """Unleash's draw when a rollout has nothing sticky to hash (1..100 against ``pct``)."""
    return random.randint(1, 100) <= pct


def rollout(pct: int, group: str, sticky: Stickiness) -> Rollout:
    """``pct`` % of identifiers, by murmur3 bucket of ``"<group>:<id>"`` (1..100)."""
    if '"' in group or any('"' in f for f in sticky.fields):
        raise Uncompilable("a groupId or stickiness holds a double quote")  # as the engine
    return Rollout(pct, f"{group}:", sticky.fields, coin if sticky.random_fallback else None)


def rule(name: str, params: Mapping[str, Any], flag: str) -> Rule:
    """The strategy's own test, without its constraints."""
    builder = _RULES.get(name)
    return builder(params, flag) if builder else never


def _default(_params: Mapping[str, Any], _flag: str) -> Rule:
    return always


def _flexible(params: Mapping[str, Any], flag: str) -> Rule:
    pct = percentage(params, "rollout")
    if pct is None:
        return never
    group = params.get("groupId")
    return rollout(
        pct, str(group) if group is not None else flag, stickiness(params.get("stickiness"))
    )


def _gradual(field: str) -> Callable[[Mapping[str, Any], str], Rule]:
    def build(params: Mapping[str, Any], _flag: str) -> Rule:
        pct, group = percentage(params, "percentage"), params.get("groupId")
        if pct is None or group is None:
            return never
        return rollout(pct, str(group), Stickiness((field,), False))

    return build


def _random(params: Mapping[str, Any], _flag: str) -> Predicate:
    pct = percentage(params, "percentage", capped=False)
    if pct is None:
        return never

    def check(_ctx: Context) -> bool:
        return random.randrange(100) < pct

    return check


def _user_ids(params: Mapping[str, Any], _flag: str) -> Predicate:
    raw = params.get("userIds")
    if raw is None:
        return never
    allowed = frozenset(part.strip() for part in str(raw).split(","))
    get = getter("userId")

    def check(ctx: Context) -> bool:
        value = get(ctx)
        return value is not None and value in allowed

    return check


def _remote_address(params: Mapping[str, Any], _flag: str) -> Rule:
    raw = params.get("IPs")
    if raw is None:
        return never
    if '"' in str(raw):
        raise Uncompilable("IPs holds a double quote")  # as the engine
    networks = [n for n in (network(p) for p in str(raw).split(",")) if n is not None]
    get = getter("remoteAddress")

    def check(ctx: Context) -> bool:
        value = get(ctx)
        return value is not None and within(value, networks)

    return check


def _hostname(params: Mapping[str, Any], _flag: str) -> Predicate:
    names = {part.strip().lower() for part in str(params.get("hostNames") or "").split(",")}
    here = (os.environ.get("HOSTNAME") or socket.gethostname()).lower()
    return always if here in names else never


_RULES: dict[str, Callable[[Mapping[str, Any], str], Rule]] = {
    "default": _default,
    "userWithId": _user_ids,
    "gradualRolloutUserId": _gradual("userId"),
    "gradualRolloutSessionId": _gradual("sessionId"),
    "gradualRolloutRandom": _random,
    "flexibleRollout": _flexible,
    "remoteAddress": _remote_address,
    "applicationHostname": _hostname,
}
KNOWN = frozenset(_RULES)


def constraints_of(
    strategy: Mapping[str, Any], segments: Segments
) -> list[Mapping[str, Any]] | None:
    """The strategy's constraints then its segments' (None: a segment is not defined)."""
    found = list(strategy.get("constraints") or [])
    for segment_id in strategy.get("segments") or []:
        segment = segments.get(segment_id)
        if segment is None:
            return None
        found.extend(segment)
    return found


def compile_strategy(strategy: Mapping[str, Any], segments: Segments, flag: str) -> Predicate:
    """The whole test of one strategy: its rule and all its constraints."""
    constraints = constraints_of(strategy, segments)
    if constraints is None:
        raise Uncompilable(f"a segment of {strategy.get('name')!r} is not defined")
    params = strategy.get("parameters") or {}
    own = rule(str(strategy.get("name")), params, flag)
    tests = [value_test(c) for c in constraints]  # compiled even then: one may refuse the flag
    if own is never:
        return never
    if not tests and not isinstance(own, Rollout):
        return own
    return strategy_function(own, tests)


def conjunction(tests: list[Predicate]) -> Predicate:
    """All of ``tests``, written out for the common short cases (no loop, no generator)."""
    tests = [t for t in tests if t is not always] or [always]
    if never in tests:
        return never
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ctx: first(ctx) and second(ctx)
    if len(tests) == 3:
        first, second, third = tests
        return lambda ctx: first(ctx) and second(ctx) and third(ctx)
    chain = tuple(tests)

    def check(ctx: Context) -> bool:
        for test in chain:  # noqa: SIM110 - a loop: all() over a generator costs ~3x here
            if not test(ctx):
                return False
        return True

    return check


def disjunction(tests: list[Predicate]) -> Predicate:
    """Any of ``tests`` (a flag's strategies)."""
    tests = [t for t in tests if t is not never]
    if not tests:
        return never
    if always in tests:
        return always
    if len(tests) == 1:
        return tests[0]
    chain = tuple(tests)

    def check(ctx: Context) -> bool:
        for test in chain:  # noqa: SIM110 - a loop: any() over a generator costs ~3x here
            if test(ctx):
                return True
        return False

    return check

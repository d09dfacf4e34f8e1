"""Why a flag is on or off for a context: each dependency, strategy, constraint and bucket.

The answer (``enabled``, ``variant``) comes from the compiled state itself; the trace beside it
re-reads the flag with the same parts (``constraints.value_test``, ``strategies.rule``, the
same bucketing), one step at a time, for people (``qv flags eval``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from qv_config.flags import strategies
from qv_config.flags.codegen import Rollout
from qv_config.flags.compiled import CompiledFlags, as_parent, segments_of
from qv_config.flags.constraints import Uncompilable, always, never, value_test
from qv_config.flags.context import Context, getter
from qv_config.flags.hashing import bucket


@dataclass(frozen=True)
class ConstraintStep:
    context_name: str
    operator: str
    expected: tuple[str, ...]
    inverted: bool
    case_insensitive: bool
    actual: str | None
    passed: bool
    segment: str | None  # the segment it comes from, if any


@dataclass(frozen=True)
class RuleStep:
    """The strategy's own test: for rollouts the bucket (1..100) against the percentage."""

    passed: bool | None  # None: decided by a random draw
    detail: str
    bucket: int | None = None
    rollout: int | None = None
    stickiness: str | None = None
    group_id: str | None = None


@dataclass(frozen=True)
class StrategyStep:
    index: int
    name: str
    title: str | None
    rule: RuleStep
    constraints: tuple[ConstraintStep, ...]
    passed: bool | None


@dataclass(frozen=True)
class DependencyStep:
    feature: str
    expected_enabled: bool
    variants: tuple[str, ...]
    parent_enabled: bool | None  # None: the parent does not exist or has parents itself
    passed: bool


@dataclass(frozen=True)
class Explanation:
    flag: str
    found: bool
    enabled: bool
    variant: dict[str, Any]
    feature_enabled: bool
    problem: str | None
    dependencies: tuple[DependencyStep, ...]
    strategies: tuple[StrategyStep, ...]


def explain(state: CompiledFlags, name: str, context: Context) -> Explanation:
    flag = state.flags.get(name)
    enabled, chosen = state.is_enabled(name, context), state.variant(name, context)
    if flag is None:
        return Explanation(name, False, enabled, chosen, False, None, (), ())
    feature, segments = flag.feature, _segments(state.document)
    return Explanation(
        name,
        True,
        enabled,
        chosen,
        bool(feature.get("enabled")),
        flag.problem,
        tuple(_dependency(state, d, name, context) for d in flag.dependencies),
        tuple(
            _strategy(i, s, segments, name, context)
            for i, s in enumerate(feature.get("strategies") or [], start=1)
        ),
    )


def _segments(document: Mapping[str, Any]) -> dict[Any, Mapping[str, Any]]:
    return {s.get("id"): s for s in document.get("segments") or []}


def _dependency(
    state: CompiledFlags, dep: Mapping[str, Any], child: str, ctx: Context
) -> DependencyStep:
    feature = str(dep.get("feature"))
    parent = state.flags.get(feature)
    expected = dep.get("enabled") is not False
    wanted = tuple(dep.get("variants") or ())
    if parent is None or parent.dependencies:
        return DependencyStep(feature, expected, wanted, None, False)
    on = as_parent(parent, child, segments_of(state.document))(ctx)  # as the engine runs it
    picked = parent.variant_of(ctx) if wanted else None
    variant_ok = picked is None or picked["name"] in wanted
    return DependencyStep(feature, expected, wanted, on, variant_ok and on is expected)


def _strategy(
    index: int,
    strategy: Mapping[str, Any],
    segments: Mapping[Any, Mapping[str, Any]],
    flag: str,
    ctx: Context,
) -> StrategyStep:
    steps = tuple(_constraints(strategy, segments, ctx))
    rule = _rule(strategy, flag, ctx)
    fails = any(not s.passed for s in steps) or rule.passed is False
    passed = False if fails else rule.passed
    title = strategy.get("title")
    name = str(strategy.get("name"))
    return StrategyStep(index, name, str(title) if title else None, rule, steps, passed)


def _constraints(
    strategy: Mapping[str, Any], segments: Mapping[Any, Mapping[str, Any]], ctx: Context
) -> list[ConstraintStep]:
    pairs: list[tuple[str | None, Mapping[str, Any]]] = [
        (None, c) for c in strategy.get("constraints") or []
    ]
    for segment_id in strategy.get("segments") or []:
        segment = segments.get(segment_id) or {}
        label = str(segment.get("name") or segment_id)
        pairs += [(label, c) for c in segment.get("constraints") or []]
    return [_constraint(c, label, ctx) for label, c in pairs]


def _constraint(c: Mapping[str, Any], segment: str | None, ctx: Context) -> ConstraintStep:
    field = str(c.get("contextName", ""))
    actual = getter(field)(ctx)
    try:
        passed = value_test(c).check(actual)
    except Uncompilable:
        passed = False
    listed = c.get("values")
    expected = tuple(str(v) for v in listed) if listed is not None else (str(c.get("value")),)
    return ConstraintStep(
        field,
        str(c.get("operator")),
        expected,
        bool(c.get("inverted")),
        bool(c.get("caseInsensitive")),
        actual,
        passed,
        segment,
    )


def _rule(strategy: Mapping[str, Any], flag: str, ctx: Context) -> RuleStep:
    name = str(strategy.get("name"))
    try:
        rule = strategies.rule(name, strategy.get("parameters") or {}, flag)
    except Uncompilable as why:
        return RuleStep(False, f"refused: {why}")
    if isinstance(rule, Rollout):
        return _rollout(rule, ctx)
    if rule is always:
        return RuleStep(True, "on for everyone")
    if rule is never:
        known = name in strategies.KNOWN
        return RuleStep(False, "parameters missing or invalid" if known else "unknown strategy")
    if name == "gradualRolloutRandom":
        return RuleStep(None, "a random draw")
    return RuleStep(rule(ctx), _rule_detail(name, strategy.get("parameters") or {}, ctx))


def _rule_detail(name: str, params: Mapping[str, Any], ctx: Context) -> str:
    if name == "userWithId":
        return f"userId {getter('userId')(ctx)!r} among userIds {params.get('userIds')!r}"
    if name == "remoteAddress":
        return f"remoteAddress {getter('remoteAddress')(ctx)!r} within IPs {params.get('IPs')!r}"
    return f"hostNames {params.get('hostNames')!r} against this host"


def _rollout(rule: Rollout, ctx: Context) -> RuleStep:
    group = rule.prefix[:-1]
    for field in rule.fields:
        value = getter(field)(ctx)
        if value is not None:
            number = bucket(group, value)
            return RuleStep(
                number <= rule.pct,
                f"bucket {number} of 100 (murmur3 of {group}:{value}) against rollout {rule.pct}",
                number,
                rule.pct,
                field,
                group,
            )
    if rule.coin is None:
        return RuleStep(False, f"no {' or '.join(rule.fields)} in the context", None, rule.pct)
    if rule.pct in (0, 100):
        return RuleStep(rule.pct == 100, f"nothing sticky: random, rollout {rule.pct}")
    return RuleStep(None, f"nothing sticky in the context: a random draw against {rule.pct}")

"""Cross-document rules QV510/QV511: a limit may not be looser than the limit above it.

Every field of ``limits`` is a ceiling; order rates compare as orders per second.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping
from typing import Any

from qv_config.validate.registry import rule
from qv_config.validate.rules._util import fmt, is_number, mapping, rate_per_second
from qv_config.validate.types import CrossContext, DocFacts, Issue

LIMIT_FIELDS = (
    "max_gross_exposure",
    "max_net_exposure",
    "max_order_notional",
    "order_rate",
    "max_drawdown_pct",
    "daily_loss_limit",
)


def _comparable(field: str, value: Any) -> float | None:
    if field == "order_rate":
        return rate_per_second(value)
    return float(value) if is_number(value) else None


# Each of LIMIT_FIELDS as compared, in that order; a limit that is absent or not comparable
# is -inf as a strategy's or policy's own (never above a cap) and +inf as a cap (never exceeded):
# ``mine > cap`` then holds exactly when both are comparable and the one is above the other.
Comparables = tuple[float, ...]
_MINE, _CAP = -math.inf, math.inf


def _comparables(limits: Mapping[str, Any], absent: float) -> Comparables:
    out: list[float] = []
    for field in LIMIT_FIELDS:
        value: Any = limits.get(field)
        kind = type(value)
        # _comparable inlined for the common cases: run for every strategy and policy.
        if field == "order_rate":
            comparable = rate_per_second(value)
        elif kind is int or kind is float:
            comparable = float(value)
        else:
            comparable = None if value is None else _comparable(field, value)
        out.append(absent if comparable is None else comparable)
    return tuple(out)


def _limits(facts: DocFacts) -> Mapping[str, Any]:
    return mapping(facts.spec.get("limits"))


def _own(ctx: CrossContext) -> dict[str, Comparables]:
    """Document key -> own comparable limits of every Strategy and RiskPolicy: worked out once
    per environment, read by QV510 and QV511 (thousands of strategies)."""
    return {
        facts.key: _comparables(_limits(facts), _MINE)
        for kind in ("Strategy", "RiskPolicy")
        for facts in ctx.of_kind(kind).values()
    }


def _exceeding(mine: Comparables, caps: Comparables) -> list[str]:
    """The fields of ``mine`` above the same limit of ``caps``; compared in C first (nearly
    every strategy is within its caps)."""
    if not any(map(operator.gt, mine, caps)):
        return []
    return [f for f, own, cap in zip(LIMIT_FIELDS, mine, caps, strict=True) if own > cap]


@rule("QV510", stage="cross", summary="strategy limit above its RiskPolicy's")
def strategy_within_policy(ctx: CrossContext) -> Iterator[Issue]:
    policies = ctx.of_kind("RiskPolicy")
    own = ctx.derived(_own)
    ceilings: dict[str, Comparables] = {}
    for strategy in ctx.of_kind("Strategy").values():
        policy = policies.get(str(strategy.spec.get("risk_policy")))
        if policy is None:
            continue  # QV501 reports the dangling reference
        if policy.key not in ceilings:  # once per policy, not once per strategy
            ceilings[policy.key] = _comparables(_limits(policy), _CAP)
        for field in _exceeding(own[strategy.key], ceilings[policy.key]):
            yield Issue(
                "QV510",
                ("spec", "limits", field),
                f"{field} {fmt(_limits(strategy).get(field))} exceeds risk policy "
                f"{policy.name}'s {fmt(_limits(policy).get(field))}",
                strategy.key,
            )


@rule("QV511", stage="cross", summary="strategy or RiskPolicy limit above the environment envelope")
def within_envelope(ctx: CrossContext) -> Iterator[Issue]:
    envelope = mapping(mapping(ctx.env_spec.get("risk")).get("limits"))
    if not envelope:
        return
    caps = _comparables(envelope, _CAP)
    own = ctx.derived(_own)
    for kind, label in (("Strategy", "strategy"), ("RiskPolicy", "risk policy")):
        for facts in ctx.of_kind(kind).values():
            for field in _exceeding(own[facts.key], caps):
                yield Issue(
                    "QV511",
                    ("spec", "limits", field),
                    f"{field} {fmt(_limits(facts).get(field))} of {label} {facts.name} exceeds "
                    f"the environment's risk envelope {fmt(envelope.get(field))}",
                    facts.key,
                )

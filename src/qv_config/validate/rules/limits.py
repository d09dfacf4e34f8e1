"""Cross-document rules QV510/QV511: a limit may not be looser than the limit above it.

Every field of ``limits`` is a ceiling; order rates compare as orders per second.
"""

from __future__ import annotations

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


Ceilings = tuple[tuple[str, float, Any], ...]  # (field, comparable value, value as written)


def _ceilings(cap: Mapping[str, Any]) -> Ceilings:
    """The comparable limits of ``cap``, worked out once per policy or envelope (not once per
    strategy checked against it: thousands of strategies share a few policies)."""
    out = []
    for field in LIMIT_FIELDS:
        value = cap.get(field)
        theirs = _comparable(field, value)
        if theirs is not None:
            out.append((field, theirs, value))
    return tuple(out)


def _exceeding(own: Mapping[str, Any], caps: Ceilings) -> Iterator[tuple[str, Any, Any]]:
    """(field, own value, cap value) for each limit of ``own`` above the same limit of ``caps``."""
    for field, theirs, cap in caps:
        mine = _comparable(field, own.get(field))
        if mine is not None and mine > theirs:
            yield field, own.get(field), cap


def _limits(facts: DocFacts) -> Mapping[str, Any]:
    return mapping(facts.spec.get("limits"))


@rule("QV510", stage="cross", summary="strategy limit above its RiskPolicy's")
def strategy_within_policy(ctx: CrossContext) -> Iterator[Issue]:
    policies = ctx.of_kind("RiskPolicy")
    ceilings: dict[str, Ceilings] = {}
    for strategy in ctx.of_kind("Strategy").values():
        policy = policies.get(str(strategy.spec.get("risk_policy")))
        if policy is None:
            continue  # QV501 reports the dangling reference
        if policy.key not in ceilings:
            ceilings[policy.key] = _ceilings(_limits(policy))
        for field, mine, cap in _exceeding(_limits(strategy), ceilings[policy.key]):
            yield Issue(
                "QV510",
                ("spec", "limits", field),
                f"{field} {fmt(mine)} exceeds risk policy {policy.name}'s {fmt(cap)}",
                strategy.key,
            )


@rule("QV511", stage="cross", summary="strategy or RiskPolicy limit above the environment envelope")
def within_envelope(ctx: CrossContext) -> Iterator[Issue]:
    envelope = mapping(mapping(ctx.env_spec.get("risk")).get("limits"))
    if not envelope:
        return
    caps = _ceilings(envelope)
    for kind, label in (("Strategy", "strategy"), ("RiskPolicy", "risk policy")):
        for facts in ctx.of_kind(kind).values():
            for field, mine, cap in _exceeding(_limits(facts), caps):
                yield Issue(
                    "QV511",
                    ("spec", "limits", field),
                    f"{field} {fmt(mine)} of {label} {facts.name} exceeds the environment's "
                    f"risk envelope {fmt(cap)}",
                    facts.key,
                )

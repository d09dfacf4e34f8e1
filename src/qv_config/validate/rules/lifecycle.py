"""Cross-document rules QV530–QV532: what may be active in an environment."""

from __future__ import annotations

from collections.abc import Iterator

from qv_config.validate.registry import rule
from qv_config.validate.rules._util import fmt, mapping, number
from qv_config.validate.rules.capital import is_active
from qv_config.validate.types import CrossContext, Issue


@rule("QV530", stage="cross", summary="active strategy's lifecycle not admitted by the environment")
def admitted(ctx: CrossContext) -> Iterator[Issue]:
    admits = ctx.env_spec.get("admits_lifecycle")
    if ctx.environment is None or not isinstance(admits, list):
        return
    for strategy in ctx.of_kind("Strategy").values():
        lifecycle = strategy.spec.get("lifecycle")
        if lifecycle is None:
            continue  # no lifecycle (a misspelt key, say): the schema stage reports that
        if is_active(strategy) and lifecycle not in admits:
            yield Issue(
                "QV530",
                ("spec", "lifecycle"),
                f"strategy {strategy.name} is active with lifecycle {lifecycle!r}, which "
                f"this environment does not admit "
                f"(admits_lifecycle: {', '.join(map(str, admits)) or 'none'})",
                strategy.key,
            )


@rule(
    "QV531",
    stage="cross",
    summary="active strategy in a prod-tier environment without backtest evidence",
)
def has_evidence(ctx: CrossContext) -> Iterator[Issue]:
    if ctx.env_spec.get("tier") != "prod":
        return
    for strategy in ctx.of_kind("Strategy").values():
        if is_active(strategy) and not mapping(strategy.spec.get("evidence")):
            yield Issue(
                "QV531",
                ("spec", "activation"),
                f"strategy {strategy.name} is active in a prod-tier environment "
                f"without backtest evidence; add spec.evidence",
                strategy.key,
            )


@rule(
    "QV532", stage="cross", summary="backtest drawdown above the strategy's max_drawdown_pct limit"
)
def drawdown(ctx: CrossContext) -> Iterator[Issue]:
    for strategy in ctx.of_kind("Strategy").values():
        observed = number(mapping(strategy.spec.get("evidence")).get("max_drawdown_pct"))
        limit = number(mapping(strategy.spec.get("limits")).get("max_drawdown_pct"))
        if observed is not None and limit is not None and observed > limit:
            yield Issue(
                "QV532",
                ("spec", "evidence", "max_drawdown_pct"),
                f"backtest max_drawdown_pct {fmt(observed)} exceeds the strategy's "
                f"limit max_drawdown_pct {fmt(limit)}",
                strategy.key,
            )

"""Cross-document rule QV520: active capital may not exceed the environment's capital."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from qv_config.validate.registry import rule
from qv_config.validate.rules._util import fmt, mapping, number
from qv_config.validate.types import CrossContext, DocFacts, Issue


def stage_capital(strategy: DocFacts) -> float:
    """Capital of the strategy at its current allocation stage (0 when it has none)."""
    allocation = mapping(strategy.spec.get("allocation"))
    stages = allocation.get("stages")
    for item in stages if isinstance(stages, list) else []:
        stage = item if isinstance(item, Mapping) else {}
        if stage.get("name") == allocation.get("current_stage"):
            return number(stage.get("capital")) or 0.0
    return 0.0


def is_active(strategy: DocFacts) -> bool:
    return strategy.spec.get("activation") == "active"


@rule(
    "QV520",
    stage="cross",
    summary="active capital (at current stage) above the environment's capital",
)
def active_capital(ctx: CrossContext) -> Iterator[Issue]:
    total = number(ctx.env_spec.get("capital"))
    if ctx.environment is None or total is None:
        return
    active = [s for s in ctx.of_kind("Strategy").values() if is_active(s)]
    capitals = [stage_capital(s) for s in active]
    # Summed largest first, as the message lists them (the same float sum as that order); the
    # strategies are sorted by capital and name only when they deploy too much.
    deployed = sum(sorted(capitals, reverse=True))
    if deployed <= total:
        return
    used = sorted(zip(capitals, (s.name for s in active), strict=True), reverse=True)
    biggest = ", ".join(f"{name} {fmt(capital)}" for capital, name in used[:3] if capital > 0)
    yield Issue(
        "QV520",
        ("spec", "capital"),
        f"active strategies deploy {fmt(deployed)} at their current stages, above "
        f"the environment's capital {fmt(total)} (biggest: {biggest})",
        ctx.environment.key,
    )

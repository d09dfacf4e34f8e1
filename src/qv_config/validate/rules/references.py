"""Cross-document rules QV501–QV505: names that must resolve within the same environment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qv_config.validate.registry import rule
from qv_config.validate.rules._util import did_you_mean, mapping
from qv_config.validate.types import CrossContext, DocFacts, Issue

_STRATEGY_REFS = (
    ("risk_policy", "RiskPolicy", "QV501", "risk policy"),
    ("kill_switch_flag", "Flag", "QV502", "flag"),
    ("execution_policy", "ExecutionPolicy", "QV505", "execution policy"),
)


@rule("QV501", stage="cross", summary="risk_policy does not resolve")
@rule("QV502", stage="cross", summary="kill_switch_flag does not resolve")
@rule("QV505", stage="cross", summary="execution_policy does not resolve")
def strategy_references(ctx: CrossContext) -> Iterator[Issue]:
    refs = [(field, ctx.of_kind(kind), code, label) for field, kind, code, label in _STRATEGY_REFS]
    for strategy in ctx.of_kind("Strategy").values():
        for field, known, code, label in refs:
            target = strategy.spec.get(field)
            if target is not None and target not in known:
                yield Issue(
                    code,
                    ("spec", field),
                    f"{field} {target!r} names no {label} of this environment"
                    f"{did_you_mean(target, known)}",
                    strategy.key,
                )


@rule("QV503", stage="cross", summary="flag dependency does not resolve")
def flag_dependencies(ctx: CrossContext) -> Iterator[Issue]:
    flags = ctx.of_kind("Flag")
    for flag in flags.values():
        deps = flag.spec.get("dependencies")
        for index, dep in enumerate(deps if isinstance(deps, list) else []):
            feature = mapping(dep).get("feature")
            if feature is not None and feature not in flags:
                yield Issue(
                    "QV503",
                    ("spec", "dependencies", index, "feature"),
                    f"dependency {feature!r} names no flag of this environment"
                    f"{did_you_mean(feature, flags)}",
                    flag.key,
                )


@rule("QV504", stage="cross", summary="segment does not resolve")
def segments(ctx: CrossContext) -> Iterator[Issue]:
    raw = ctx.env_spec.get("segments")
    known = {s for s in raw if isinstance(s, str)} if isinstance(raw, list) else set()
    for flag in ctx.of_kind("Flag").values():
        yield from _flag_segments(flag, known)


def _flag_segments(flag: DocFacts, known: set[str]) -> Iterator[Issue]:
    strategies: Any = flag.spec.get("strategies")
    for index, strategy in enumerate(strategies if isinstance(strategies, list) else []):
        used = mapping(strategy).get("segments")
        for pos, segment in enumerate(used if isinstance(used, list) else []):
            if segment not in known:
                yield Issue(
                    "QV504",
                    ("spec", "strategies", index, "segments", pos),
                    f"segment {segment!r} is not among the environment's spec.segments"
                    f"{did_you_mean(segment, known)}",
                    flag.key,
                )

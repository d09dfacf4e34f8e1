"""Extracting the facts the cross-document rules need from a rendered document.

Only these fields are kept (and cached), so a warm run never needs the full rendered tree of an
unchanged document. A rule that reads a new field must add it here (the rules-code hash in the
cache key makes old caches rebuild).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.validate.types import DocFacts
from qv_config.yamlio.types import ReplaceDict, ReplaceList

_KEEP: dict[str, tuple[str, ...]] = {
    "Strategy": (
        "lifecycle",
        "activation",
        "risk_policy",
        "kill_switch_flag",
        "execution_policy",
        "limits",
        "evidence",
        "allocation",
    ),
    "RiskPolicy": ("limits",),
    "Flag": ("type", "expires", "variants", "strategies", "dependencies"),
    "Environment": ("tier", "capital", "risk", "admits_lifecycle", "segments"),
}


def plain(value: Any) -> Any:
    """A copy made of builtin dict/list/scalars only (``!replace`` subclasses dropped).

    Exact type checks first: this runs on every fact of every document of a cold run.
    """
    kind = type(value)
    if kind is dict or kind is ReplaceDict:
        return {str(k): plain(v) for k, v in value.items()}
    if kind is list or kind is ReplaceList:
        return [plain(v) for v in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def extract(key: str, kind: str, name: str, data: Mapping[str, Any]) -> DocFacts:
    spec = data.get("spec")
    spec = spec if isinstance(spec, Mapping | ReplaceDict) else {}
    keep = _KEEP.get(kind, ())
    trimmed = {field: plain(spec[field]) for field in keep if field in spec}
    if kind == "Environment" and isinstance(trimmed.get("segments"), list):
        # Only the names of segments are referenced; their constraints can be large.
        trimmed["segments"] = [s.get("name") for s in trimmed["segments"] if isinstance(s, dict)]
    if kind == "Flag":
        _trim_flag(trimmed)
    if kind == "Strategy":
        _trim_strategy(trimmed)
    return DocFacts(key, kind, name, trimmed)


def _trim_strategy(spec: dict[str, Any]) -> None:
    """Keep what the strategy rules read of its evidence (whether there is any, its drawdown)
    and of its allocation (the first stage named current_stage): a report's path, digest and
    period, and the other stages, are most of a strategy's facts (stored, sent, decoded)."""
    evidence = spec.get("evidence")
    if type(evidence) is dict and evidence:  # plain(): every mapping is a dict
        spec["evidence"] = {"max_drawdown_pct": evidence.get("max_drawdown_pct")}
    allocation = spec.get("allocation")
    if type(allocation) is dict and type(allocation.get("stages")) is list:
        current = allocation.get("current_stage")
        # As capital.stage_capital reads them: an item that is no mapping has no name.
        named = [item for item in allocation["stages"] if _name_of(item) == current]
        allocation["stages"] = named[:1]


def _name_of(item: Any) -> Any:
    return item.get("name") if type(item) is dict else None


def _trim_flag(spec: dict[str, Any]) -> None:
    """Keep what the flag rules read: whether there are variants, segment and feature names."""
    if "variants" in spec:
        spec["variants"] = bool(spec["variants"])
    strategies = spec.get("strategies")
    if isinstance(strategies, list):
        spec["strategies"] = [
            {"segments": s.get("segments"), "variants": bool(s.get("variants"))}
            if isinstance(s, dict)
            else s
            for s in strategies
        ]
    deps = spec.get("dependencies")
    if isinstance(deps, list):
        spec["dependencies"] = [
            {"feature": d.get("feature")} if isinstance(d, dict) else d for d in deps
        ]

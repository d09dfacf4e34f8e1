"""Extracting the facts the cross-document rules need from a rendered document.

Only these fields are kept (and cached), so a warm run never needs the full rendered tree of an
unchanged document. A rule that reads a new field must add it here (the rules-code hash in the
cache key makes old caches rebuild).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    spec = spec if type(spec) is dict or isinstance(spec, Mapping) else {}
    keep = _KEEP.get(kind, ())
    trim = _TRIM.get(kind, {})
    trimmed = {}
    for field in keep:
        if field in spec:
            value = spec[field]
            how = trim.get(field)
            trimmed[field] = plain(value) if how is None else how(value)
    if kind == "Environment" and isinstance(trimmed.get("segments"), list):
        # Only the names of segments are referenced; their constraints can be large.
        trimmed["segments"] = [s.get("name") for s in trimmed["segments"] if isinstance(s, dict)]
    return DocFacts(key, kind, name, trimmed)


# What the rules read of a field is cut out of the document's value, not out of a whole copy of
# it (``plain``: a strategy's evidence and stages, a flag's strategies, are most of its facts).
# Each gives exactly what the copy, trimmed, gives (tests/validate/test_validate_facts.py); a
# value of another shape than the usual one is copied whole, then trimmed.


def _evidence(value: Any) -> Any:
    """What the strategy rules read of its evidence: whether there is any, its drawdown."""
    if type(value) is dict:  # plain() makes a dict of any mapping, with the same keys as text
        return {"max_drawdown_pct": plain(value.get("max_drawdown_pct"))} if value else {}
    found = plain(value)
    if type(found) is dict and found:
        return {"max_drawdown_pct": found.get("max_drawdown_pct")}
    return found


def _allocation(value: Any) -> Any:
    """The allocation with only the first stage named ``current_stage`` (as
    capital.stage_capital reads them: an item that is no mapping has no name)."""
    if type(value) is not dict or type(value.get("stages")) is not list:
        found = plain(value)
        if type(found) is dict and type(found.get("stages")) is list:
            current = found.get("current_stage")
            found["stages"] = [item for item in found["stages"] if _name_of(item) == current][:1]
        return found
    current = plain(value.get("current_stage"))
    stage = _NONE
    for item in value["stages"]:
        if _src_name(item) == current:
            stage = item
            break
    out = {}
    for field, item in value.items():
        if field == "stages":
            out["stages"] = [] if stage is _NONE else [plain(stage)]
        else:
            out[str(field)] = plain(item)
    return out


_NONE = object()


def _is_mapping(value: Any) -> bool:
    return type(value) is dict or isinstance(value, Mapping)  # no ABC check for a dict


def _name_of(item: Any) -> Any:
    return item.get("name") if type(item) is dict else None


def _src_name(item: Any) -> Any:
    """``_name_of(plain(item))``, without the copy."""
    return plain(item.get("name")) if _is_mapping(item) else None


def _variants(value: Any) -> bool:
    return bool(value)  # plain() keeps a value's emptiness


def _strategies(value: Any) -> Any:
    """Of each flag strategy: its segments, whether it has variants."""
    return _each(value, _strategy_of)


def _strategy_of(item: Any) -> Any:
    if not _is_mapping(item):
        return item
    return {"segments": plain(item.get("segments")), "variants": bool(item.get("variants"))}


def _dependencies(value: Any) -> Any:
    """Of each dependency: the feature it names."""
    return _each(value, _feature_of)


def _feature_of(item: Any) -> Any:
    return {"feature": plain(item.get("feature"))} if _is_mapping(item) else item


def _each(value: Any, of: Callable[[Any], Any]) -> Any:
    """``of`` each item (a mapping) of a list; a value of another shape copied whole first."""
    if type(value) is not list and type(value) is not ReplaceList:
        found = plain(value)
        return [of(item) for item in found] if isinstance(found, list) else found
    return [of(item) if _is_mapping(item) else plain(item) for item in value]


_TRIM: dict[str, dict[str, Any]] = {
    "Strategy": {"evidence": _evidence, "allocation": _allocation},
    "Flag": {"variants": _variants, "strategies": _strategies, "dependencies": _dependencies},
}

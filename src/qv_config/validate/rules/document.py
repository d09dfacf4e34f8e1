"""Document rules QV401–QV407: values that can be checked within one rendered document."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from qv_config.validate.registry import rule
from qv_config.validate.rules._util import is_number, mapping, parse_date, rate_per_second
from qv_config.validate.types import Issue

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "int": _is_int,
    "float": is_number,
    "bool": lambda v: isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
}


def _spec(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(data.get("spec"))


@rule("QV401", stage="document", summary="parameter value outside min/max")
@rule("QV402", stage="document", summary="parameter value of the wrong type")
@rule("QV403", stage="document", summary="parameter value not in choices")
def parameters(kind: str, data: Mapping[str, Any]) -> Iterable[Issue]:
    # Each rule tells the kinds it reads before making a generator: called for every document.
    return _parameters(data) if kind == "Strategy" else ()


def _parameters(data: Mapping[str, Any]) -> Iterator[Issue]:
    for name, param in mapping(_spec(data).get("parameters")).items():
        if type(param) is dict or isinstance(param, Mapping):
            # Lists, not generators: five parameters a strategy, each nearly always clean.
            found = _parameter(str(name), param)
            if found:
                yield from found


def _parameter(name: str, param: Mapping[str, Any]) -> list[Issue]:
    path = ("spec", "parameters", name, "value")
    ptype, value = param.get("type"), param.get("value")
    choices = param.get("choices")
    if ptype == "enum":
        if not isinstance(choices, list) or value not in choices:
            shown = ", ".join(map(str, choices)) if isinstance(choices, list) else "none"
            message = f"parameter {name} = {value!r} is not one of its choices ({shown})"
            return [Issue("QV403", path, message)]
        return []
    check = _TYPE_CHECKS.get(str(ptype))
    if check is None:
        return []  # unknown type: the schema stage reports it
    if not check(value):
        message = f"parameter {name} = {value!r} is not of its declared type {ptype}"
        return [Issue("QV402", path, message)]
    return _bounds(name, path, param, value)


def _bounds(name: str, path: tuple[str, ...], param: Mapping[str, Any], value: Any) -> list[Issue]:
    found = []
    low, high = param.get("min"), param.get("max")
    if is_number(value) and is_number(low) and value < low:
        found.append(Issue("QV401", path, f"parameter {name} = {value} is below its min {low}"))
    if is_number(value) and is_number(high) and value > high:
        found.append(Issue("QV401", path, f"parameter {name} = {value} is above its max {high}"))
    choices = param.get("choices")
    if isinstance(choices, list) and value not in choices:
        shown = ", ".join(map(str, choices))
        message = f"parameter {name} = {value!r} is not one of its choices ({shown})"
        found.append(Issue("QV403", path, message))
    return found


@rule("QV404", stage="document", summary="allocation current_stage not among stages")
def allocation_stage(kind: str, data: Mapping[str, Any]) -> Iterable[Issue]:
    return _allocation_stage(data) if kind == "Strategy" else ()


def _allocation_stage(data: Mapping[str, Any]) -> Iterator[Issue]:
    allocation = mapping(_spec(data).get("allocation"))
    current = allocation.get("current_stage")
    if current is None:
        return
    stages = allocation.get("stages")
    names = (
        [s.get("name") for s in stages if type(s) is dict or isinstance(s, Mapping)]
        if isinstance(stages, list)
        else []
    )
    if current not in names:
        yield Issue(
            "QV404",
            ("spec", "allocation", "current_stage"),
            f"allocation.current_stage {current!r} is not one of the stages "
            f"({', '.join(map(str, names)) or 'none defined'})",
        )


_LIMITS_PATHS = {
    "Strategy": ("spec", "limits"),
    "RiskPolicy": ("spec", "limits"),
    "Environment": ("spec", "risk", "limits"),
}


def _limits_paths(kind: str) -> tuple[str, ...] | None:
    return _LIMITS_PATHS.get(kind)


@rule("QV405", stage="document", summary="malformed order rate")
def order_rate(kind: str, data: Mapping[str, Any]) -> Iterable[Issue]:
    base = _limits_paths(kind)
    return () if base is None else _order_rate(base, data)


def _order_rate(base: tuple[str, ...], data: Mapping[str, Any]) -> Iterator[Issue]:
    limits: Any = data
    for part in base:
        limits = mapping(limits).get(part)
    rate = mapping(limits).get("order_rate")
    if rate is not None and rate_per_second(rate) is None:
        yield Issue(
            "QV405",
            (*base, "order_rate"),
            f"order_rate {rate!r} is not '<count>/<n><unit>' with unit ms, s, m or h "
            f"(e.g. '20/1s')",
        )


@rule("QV406", stage="document", summary="malformed date or period")
def dates(kind: str, data: Mapping[str, Any]) -> Iterable[Issue]:
    return _dates(kind, data) if kind in ("Flag", "Strategy") else ()


def _dates(kind: str, data: Mapping[str, Any]) -> Iterator[Issue]:
    spec = _spec(data)
    expires = spec.get("expires")
    if kind == "Flag" and expires is not None and parse_date(expires) is None:
        yield Issue("QV406", ("spec", "expires"), f"expires {expires!r} is not a date YYYY-MM-DD")
    if kind == "Strategy":
        yield from _period(mapping(mapping(spec.get("evidence")).get("period")))


def _period(period: Mapping[str, Any]) -> Iterator[Issue]:
    base = ("spec", "evidence", "period")
    parsed = {}
    for end in ("start", "end"):
        raw = period.get(end)
        if raw is None:
            continue
        parsed[end] = parse_date(raw)
        if parsed[end] is None:
            yield Issue(
                "QV406", (*base, end), f"evidence.period.{end} {raw!r} is not a date YYYY-MM-DD"
            )
    start, stop = parsed.get("start"), parsed.get("end")
    if start is not None and stop is not None and stop < start:
        yield Issue(
            "QV406", (*base, "end"), f"evidence.period ends ({stop}) before it starts ({start})"
        )


@rule("QV407", stage="document", summary="malformed version (not semver) or time window")
def version_and_windows(kind: str, data: Mapping[str, Any]) -> Iterable[Issue]:
    return _version_and_windows(kind, data) if kind in ("Strategy", "ExecutionPolicy") else ()


def _version_and_windows(kind: str, data: Mapping[str, Any]) -> Iterator[Issue]:
    spec = _spec(data)
    if kind == "Strategy" and "version" in spec:
        version = spec.get("version")
        if not isinstance(version, str) or not _SEMVER.match(version):
            yield Issue(
                "QV407",
                ("spec", "version"),
                f"version {version!r} is not semantic versioning MAJOR.MINOR.PATCH "
                f'(quote it in YAML, e.g. "1.4.2")',
            )
    if kind == "ExecutionPolicy":
        rules = spec.get("rules")
        for index, item in enumerate(rules if isinstance(rules, list) else []):
            yield from _window(index, mapping(mapping(item).get("when")).get("time_window"))


def _window(index: int, window: Any) -> Iterator[Issue]:
    for end in ("start", "end"):
        raw = mapping(window).get(end)
        if raw is not None and not (isinstance(raw, str) and _HHMM.match(raw)):
            yield Issue(
                "QV407",
                ("spec", "rules", index, "when", "time_window", end),
                f"time_window.{end} {raw!r} is not a time HH:MM (quote it in YAML)",
            )

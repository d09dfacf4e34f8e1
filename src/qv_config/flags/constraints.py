"""Constraints compiled to predicates over a context.

Each constraint becomes one closure, built once at load: values are parsed, sets and lower-cased
copies made, regular expressions compiled (RE2 semantics through ``google-re2``), so evaluating
it is a field look-up and a comparison. Semantics are those of Unleash's engine (yggdrasil):

- a missing context field fails every operator but NOT_IN (which it passes), before
  ``inverted`` applies: an inverted IN on a missing field passes;
- ``caseInsensitive`` applies to the STR_* operators and REGEX, never to IN/NOT_IN;
- an unknown operator is a constraint that fails; a context value that does not parse as the
  operator's type fails the constraint;
- a constraint value the engine cannot parse (a NUM_* value that is not a number, a DATE_*
  value that is not RFC 3339, a SEMVER_* value that is not SemVer) makes the whole flag off
  (``Uncompilable``), as Unleash's engine refuses to compile the flag; a SEMVER_* value with a
  leading ``v`` fails only its constraint; an invalid regular expression fails its constraint.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from qv_config.flags import values
from qv_config.flags.context import Context, Getter, getter

Predicate = Callable[[Context], bool]


class Uncompilable(Exception):
    """A value Unleash's engine would not compile: the flag is off in every context."""


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": op.eq, "GT": op.gt, "GTE": op.ge, "LT": op.lt, "LTE": op.le,
    "AFTER": op.gt, "BEFORE": op.lt,
}  # fmt: skip


def never(_ctx: Context) -> bool:
    return False


def compile_constraint(constraint: Mapping[str, Any]) -> Predicate:
    """The predicate of one constraint (``inverted`` included)."""
    get = getter(str(constraint.get("contextName", "")))
    test = _test(constraint, get)
    if constraint.get("inverted"):
        return _inverted(test)
    return test


def _inverted(test: Predicate) -> Predicate:
    def check(ctx: Context) -> bool:
        return not test(ctx)

    return check


def _test(constraint: Mapping[str, Any], get: Getter) -> Predicate:
    name = constraint.get("operator")
    fold = bool(constraint.get("caseInsensitive"))
    if name in ("IN", "NOT_IN"):
        return _membership(_values(constraint), get, negate=name == "NOT_IN")
    if name in ("STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH"):
        return _strings(name, _values(constraint), get, fold)
    family, _, cmp = str(name).partition("_")
    if family == "NUM" and cmp in ("EQ", "GT", "GTE", "LT", "LTE"):
        return _numeric(_ORDER[cmp], _value(constraint), get)
    if family == "DATE" and cmp in ("AFTER", "BEFORE"):
        now = constraint.get("contextName") == "currentTime"
        return _dated(_ORDER[cmp], _value(constraint), get, default_now=now)
    if family == "SEMVER" and cmp in ("EQ", "GT", "LT"):
        return _semver(_ORDER[cmp], _value(constraint), get)
    if name == "REGEX":
        return _regex(_value(constraint), get, fold)
    return never


def _values(constraint: Mapping[str, Any]) -> list[str]:
    raw = constraint.get("values") or []
    return [str(v) for v in raw if v is not None]


def _value(constraint: Mapping[str, Any]) -> str:
    value = constraint.get("value")
    if value is None:
        raise Uncompilable(f"{constraint.get('operator')} has no value")
    return str(value)


def _membership(options: list[str], get: Getter, *, negate: bool) -> Predicate:
    allowed = frozenset(options)

    def member(ctx: Context) -> bool:
        value = get(ctx)
        return value is not None and value in allowed

    def not_member(ctx: Context) -> bool:
        value = get(ctx)
        return value is None or value not in allowed

    return not_member if negate else member


def _strings(name: str, options: list[str], get: Getter, fold: bool) -> Predicate:
    wanted = tuple(o.lower() for o in options) if fold else tuple(options)
    if name == "STR_CONTAINS":

        def matches(value: str) -> bool:
            return any(w in value for w in wanted)
    elif name == "STR_STARTS_WITH":

        def matches(value: str) -> bool:
            return value.startswith(wanted)
    else:

        def matches(value: str) -> bool:
            return value.endswith(wanted)

    def check(ctx: Context) -> bool:
        value = get(ctx)
        if value is None:
            return False
        return matches(value.lower() if fold else value)

    return check


def _numeric(cmp: Callable[[Any, Any], bool], raw: str, get: Getter) -> Predicate:
    target = values.number(raw)
    if target is None:
        raise Uncompilable(f"not a number: {raw!r}")

    def check(ctx: Context) -> bool:
        value = get(ctx)
        number = values.number(value) if value is not None else None
        return number is not None and cmp(number, target)

    return check


def _dated(
    cmp: Callable[[Any, Any], bool], raw: str, get: Getter, *, default_now: bool
) -> Predicate:
    target = values.date(raw)
    if target is None:
        raise Uncompilable(f"not an RFC 3339 date: {raw!r}")

    def check(ctx: Context) -> bool:
        value = get(ctx)
        if value is not None:
            when = values.date(value)
        else:  # a context without currentTime is "now", as every Unleash SDK fills it in
            when = datetime.now(UTC) if default_now else None
        return when is not None and cmp(when, target)

    return check


def _semver(cmp: Callable[[Any, Any], bool], raw: str, get: Getter) -> Predicate:
    if raw.startswith("v"):
        return never
    target = values.version(raw)
    if target is None:
        raise Uncompilable(f"not a semantic version: {raw!r}")

    def check(ctx: Context) -> bool:
        value = get(ctx)
        parsed = values.version(value) if value is not None else None
        return parsed is not None and cmp(parsed, target)

    return check


def _regex(pattern: str, get: Getter, fold: bool) -> Predicate:
    import re2

    options = re2.Options()
    options.case_sensitive = not fold
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error:
        return never

    def check(ctx: Context) -> bool:
        value = get(ctx)
        return value is not None and compiled.search(value) is not None

    return check

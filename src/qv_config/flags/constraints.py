"""Constraints compiled to predicates over a context.

Each constraint becomes a ``ValueTest`` built once at load: values are parsed, sets and
lower-cased copies made, regular expressions compiled (RE2 semantics through ``google-re2``), so
evaluating it is a comparison of the field's value (``codegen`` reads the field inline; IN and
NOT_IN become a set test written into the strategy's function). Semantics are those of
Unleash's engine (yggdrasil):

- a missing context field fails every operator but NOT_IN (which it passes), before
  ``inverted`` applies: an inverted IN on a missing field passes;
- ``caseInsensitive`` applies to the STR_* operators and REGEX, never to IN/NOT_IN;
- a context value that does not parse as the operator's type fails the constraint;
- IN_CIDR: the value is an IP address within one of the values (addresses or CIDR blocks; one
  that is neither is skipped);
- an unknown operator, or a constraint value the engine cannot parse (a NUM_* value that is
  not a number, a DATE_* value that is not RFC 3339 with 0 or 3 decimals, a SEMVER_* value that
  is not SemVer, a string value ending in a backslash, STR_* or IN_CIDR without values) makes
  the whole flag off (``Uncompilable``), as Unleash's engine refuses to compile the flag;
- a SEMVER_* value with a leading ``v`` fails only its constraint (inverted or not), one that
  reads as a plain number ("1.2") compares as NUM_*; an invalid regular expression fails its
  constraint.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qv_config.flags import values
from qv_config.flags.context import Context

Predicate = Callable[[Context], bool]
Check = Callable[["str | None"], bool]


class Uncompilable(Exception):
    """A value Unleash's engine would not compile: the flag is off in every context."""


@dataclass(frozen=True)
class ValueTest:
    """One constraint over the value of ``field`` (None: absent), ``inverted`` applied.

    ``members`` with ``member`` set is a set test (``codegen`` writes it inline): with
    ``member`` True the value must be present and in ``members``, with False it must be absent
    or not in ``members``. Otherwise ``check(value)`` decides."""

    field: str
    check: Check
    members: frozenset[str] | None = None
    member: bool = True
    numeric: tuple[str, float] | None = None  # NUM_*: (Python operator, target), for codegen
    negate: bool = False  # NUM_* inverted (``check`` has it already)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": op.eq, "GT": op.gt, "GTE": op.ge, "LT": op.lt, "LTE": op.le,
    "AFTER": op.gt, "BEFORE": op.lt,
}  # fmt: skip


_SYMBOLS = {"EQ": "==", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}


def never(_ctx: Context) -> bool:
    return False


def always(_ctx: Context) -> bool:
    return True


def value_test(constraint: Mapping[str, Any]) -> ValueTest:
    """The ``ValueTest`` of one constraint."""
    field = str(constraint.get("contextName", ""))
    inverted = bool(constraint.get("inverted"))
    name = constraint.get("operator")
    if name in ("IN", "NOT_IN"):
        members = frozenset(_values(constraint))
        member = (name == "IN") != inverted  # an inverted IN is a NOT_IN, and the reverse
        return ValueTest(field, _membership(members, member), members, member)
    check = _check(constraint)
    if inverted and not _v_version(constraint):
        check = _negated(check)
    family, _, cmp = str(name).partition("_")
    if family == "NUM" and cmp in _SYMBOLS:
        target = values.number_literal(_value(constraint))
        if target is not None:
            return ValueTest(field, check, numeric=(_SYMBOLS[cmp], target), negate=inverted)
    return ValueTest(field, check)


def _v_version(constraint: Mapping[str, Any]) -> bool:
    """A SEMVER_* value with a leading ``v``: the engine's rule is a plain ``false``, which
    ``inverted`` does not turn."""
    return str(constraint.get("operator")).startswith("SEMVER_") and str(
        constraint.get("value")
    ).startswith("v")


def _negated(check: Check) -> Check:
    return lambda value: not check(value)


def _check(constraint: Mapping[str, Any]) -> Check:
    name = constraint.get("operator")
    fold = bool(constraint.get("caseInsensitive"))
    if name in ("STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH"):
        options = _values(constraint)
        if not options:  # the engine's grammar has no empty list for these operators
            raise Uncompilable(f"{name} has no values")
        return _strings(name, options, fold)
    family, _, cmp = str(name).partition("_")
    if family == "NUM" and cmp in ("EQ", "GT", "GTE", "LT", "LTE"):
        return _numeric(_ORDER[cmp], _value(constraint))
    if family == "DATE" and cmp in ("AFTER", "BEFORE"):
        now = constraint.get("contextName") == "currentTime"
        return _dated(_ORDER[cmp], _value(constraint), default_now=now)
    if family == "SEMVER" and cmp in ("EQ", "GT", "LT"):
        return _semver(_ORDER[cmp], _value(constraint))
    if name == "REGEX":
        return _regex(_value(constraint), fold)
    if name == "IN_CIDR":
        return _cidr(_values(constraint))
    raise Uncompilable(f"unknown operator {name!r}")


def _values(constraint: Mapping[str, Any]) -> list[str]:
    raw = [str(v) for v in constraint.get("values") or [] if v is not None]
    if any(v.endswith("\\") for v in raw):
        # the engine quotes values into its rule text: a trailing backslash escapes the quote
        raise Uncompilable("a value ends with a backslash")
    return raw


def _value(constraint: Mapping[str, Any]) -> str:
    value = constraint.get("value")
    if value is None:
        raise Uncompilable(f"{constraint.get('operator')} has no value")
    return str(value)


def _membership(members: frozenset[str], member: bool) -> Check:
    if member:
        return lambda value: value is not None and value in members
    return lambda value: value is None or value not in members


def _strings(name: str, options: list[str], fold: bool) -> Check:
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

    def check(value: str | None) -> bool:
        if value is None:
            return False
        return matches(value.lower() if fold else value)

    return check


def _numeric(cmp: Callable[[Any, Any], bool], raw: str) -> Check:
    target = values.number_literal(raw)
    if target is None:
        raise Uncompilable(f"not a number: {raw!r}")
    number = values.number

    def check(value: str | None) -> bool:
        parsed = number(value) if value is not None else None
        return parsed is not None and cmp(parsed, target)

    return check


def _dated(cmp: Callable[[Any, Any], bool], raw: str, *, default_now: bool) -> Check:
    target = values.date_literal(raw)
    if target is None:
        raise Uncompilable(f"not an RFC 3339 date: {raw!r}")

    def check(value: str | None) -> bool:
        if value is not None:
            when = values.date(value)
        else:  # a context without currentTime is "now", as every Unleash SDK fills it in
            when = datetime.now(UTC) if default_now else None
        return when is not None and cmp(when, target)

    return check


def _semver(cmp: Callable[[Any, Any], bool], raw: str) -> Check:
    if raw.startswith("v"):
        return lambda _value: False
    target = values.version(raw.strip(" \t"))
    if target is None:
        if values.looks_like_version(raw) or values.number_literal(raw) is None:
            raise Uncompilable(f"not a semantic version: {raw!r}")
        # Unleash's engine reads a SEMVER_* value like "1.2" as a number and compares numbers
        return _numeric(cmp, raw)

    def check(value: str | None) -> bool:
        parsed = values.version(value) if value is not None else None
        return parsed is not None and cmp(parsed, target)

    return check


def _cidr(options: list[str]) -> Check:
    if not options:  # the engine's grammar has no empty list here either
        raise Uncompilable("IN_CIDR has no values")
    networks = [n for n in (values.network(o) for o in options) if n is not None]
    within = values.within
    return lambda value: value is not None and within(value, networks)


def _regex(pattern: str, fold: bool) -> Check:
    import re2

    options = re2.Options()
    options.case_sensitive = not fold
    options.log_errors = False
    try:
        compiled = re2.compile(pattern, options)
    except re2.error:
        return lambda _value: False

    def check(value: str | None) -> bool:
        return value is not None and compiled.search(value) is not None

    return check

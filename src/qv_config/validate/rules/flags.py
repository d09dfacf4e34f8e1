"""Cross-document rules about flags: QV450 (a stale release flag), QV540–QV542."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from qv_config.findings import Severity
from qv_config.validate.registry import rule
from qv_config.validate.rules._util import mapping, parse_date
from qv_config.validate.types import CrossContext, DocFacts, Issue


def _expired(ctx: CrossContext) -> list[tuple[DocFacts, date]]:
    """The flags past expires, with that date: read once per environment for QV450 and QV540."""
    out = []
    for flag in ctx.of_kind("Flag").values():
        when = parse_date(flag.spec.get("expires"))
        if when is not None and when < ctx.today:
            out.append((flag, when))
    return out


@rule(
    "QV450",
    stage="cross",
    severity=Severity.WARNING,
    summary="stale flag: a release flag past expires",
)
def stale(ctx: CrossContext) -> Iterator[Issue]:
    # A release flag is meant to go once rolled out: past expires it is what Unleash calls
    # stale (qv render --format unleash marks it so). Other types past expires are QV540.
    for flag, when in ctx.derived(_expired):
        if flag.spec.get("type") == "release":
            yield Issue(
                "QV450",
                ("spec", "expires"),
                f"release flag {flag.name} is stale: it expired on {when.isoformat()}; once it is"
                " on everywhere remove it and its code paths, or extend expires",
                flag.key,
            )


@rule("QV540", stage="cross", severity=Severity.WARNING, summary="flag past expires")
def expired(ctx: CrossContext) -> Iterator[Issue]:
    for flag, when in ctx.derived(_expired):
        if flag.spec.get("type") != "release":
            yield Issue(
                "QV540",
                ("spec", "expires"),
                f"flag {flag.name} expired on {when.isoformat()}; remove it or extend expires",
                flag.key,
            )


def _variant_paths(flag: DocFacts) -> Iterator[tuple[str | int, ...]]:
    if flag.spec.get("variants"):
        yield ("spec", "variants")
    strategies: Any = flag.spec.get("strategies")
    for index, strategy in enumerate(strategies if isinstance(strategies, list) else []):
        if mapping(strategy).get("variants"):
            yield ("spec", "strategies", index, "variants")


@rule("QV541", stage="cross", summary="kill-switch flag with variants")
def kill_switch_boolean(ctx: CrossContext) -> Iterator[Issue]:
    for flag in ctx.of_kind("Flag").values():
        if flag.spec.get("type") != "kill-switch":
            continue
        for path in _variant_paths(flag):
            yield Issue(
                "QV541",
                path,
                f"kill-switch flag {flag.name} must be boolean-only; remove its variants",
                flag.key,
            )


@rule(
    "QV542",
    stage="cross",
    severity=Severity.WARNING,
    summary="kill_switch_flag names a flag whose type is not kill-switch",
)
def kill_switch_type(ctx: CrossContext) -> Iterator[Issue]:
    flags = ctx.of_kind("Flag")
    for strategy in ctx.of_kind("Strategy").values():
        flag = flags.get(str(strategy.spec.get("kill_switch_flag")))
        if flag is not None and flag.spec.get("type") != "kill-switch":
            yield Issue(
                "QV542",
                ("spec", "kill_switch_flag"),
                f"kill_switch_flag {flag.name!r} is a flag of type "
                f"{flag.spec.get('type')!r}, not 'kill-switch'",
                strategy.key,
            )

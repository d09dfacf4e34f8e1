"""A client-features document compiled once into per-flag closures.

``compile_state(document)`` parses everything a flag needs (values, sets, regular expressions,
percentages, segment constraints, variant tables) when it is loaded, so ``is_enabled`` is a dict
look-up and a few calls, and ``variant`` a bucket and a short scan. The document is Unleash's
``/api/client/features`` body (``{"version", "features", "segments"}``) or a delta-API body
(``{"events": [...]}``), which is applied first (``delta.apply_events``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qv_config.flags import delta, strategies
from qv_config.flags.constraints import Predicate, Uncompilable, always, never
from qv_config.flags.context import Context
from qv_config.flags.variants import Picker, Result, disabled, picker


class FlagStateError(ValueError):
    """A document that is not a client-features state at all (not its shape)."""


@dataclass(frozen=True)
class StrategyVariants:
    """A strategy in variant selection: the first whose test holds decides: its own variants
    if it has any, else the flag's."""

    test: Predicate
    pick: Picker | None


@dataclass(frozen=True)
class CompiledFlag:
    """One flag: ``own`` is its enabled bit and strategies; ``test`` adds its dependencies."""

    name: str
    own: Predicate
    strategy_variants: tuple[StrategyVariants, ...]
    pick: Picker | None
    dependencies: tuple[Mapping[str, Any], ...]
    feature: Mapping[str, Any]
    problem: str | None = None
    test: Predicate = field(default=never)

    def variant_of(self, ctx: Context) -> Result | None:
        """The variant chosen for ``ctx``, assuming the flag is on (None: no variant)."""
        for entry in self.strategy_variants:
            if entry.test(ctx):
                return entry.pick(ctx) if entry.pick is not None else self._own_pick(ctx)
        return self._own_pick(ctx)

    def _own_pick(self, ctx: Context) -> Result | None:
        return self.pick(ctx) if self.pick is not None else None


class CompiledFlags:
    """A compiled state: ``is_enabled(name, context)`` and ``variant(name, context)``.

    Immutable once built and safe to share between threads (the closures hold no state). An
    unknown flag is off and its variant is the disabled one, as in every Unleash SDK.
    """

    __slots__ = ("_tests", "document", "flags", "warnings")

    def __init__(self, flags: dict[str, CompiledFlag], document: Mapping[str, Any]) -> None:
        self.flags = flags
        self.document = document
        self.warnings = tuple(f"{f.name}: {f.problem}" for f in flags.values() if f.problem)
        self._tests = {name: f.test for name, f in flags.items()}

    def is_enabled(self, name: str, context: Context) -> bool:
        test = self._tests.get(name)
        return test is not None and test(context)

    def variant(self, name: str, context: Context) -> Result:
        flag = self.flags.get(name)
        if flag is None or not flag.test(context):
            return disabled(False)
        return flag.variant_of(context) or disabled(True)

    def __contains__(self, name: object) -> bool:
        return name in self.flags

    def names(self) -> list[str]:
        return sorted(self.flags)


def compile_state(document: Mapping[str, Any]) -> CompiledFlags:
    """Compile a client-features (or delta-API) document; see the module docstring."""
    if not isinstance(document, Mapping):
        raise FlagStateError("a client-features state is a JSON object")
    if delta.is_delta(document):
        document = delta.apply_events(None, _listed(document, "events"))
    segments = segments_of(document)
    flags = {}
    for feature in _listed(document, "features"):
        if not isinstance(feature, Mapping) or not isinstance(feature.get("name"), str):
            raise FlagStateError("every feature is an object with a name")
        try:
            flags[feature["name"]] = _compile_flag(feature, segments)
        except (AttributeError, TypeError, KeyError) as err:  # a list where a map goes, ...
            raise FlagStateError(f"feature {feature['name']!r} is malformed ({err})") from None
    for flag in flags.values():
        object.__setattr__(flag, "test", _with_dependencies(flag, flags, segments))
    return CompiledFlags(flags, document)


def segments_of(document: Mapping[str, Any]) -> strategies.Segments:
    """The constraints of each segment, by id."""
    return {s.get("id"): list(s.get("constraints") or []) for s in _listed(document, "segments")}


def _listed(document: Mapping[str, Any], key: str) -> Sequence[Any]:
    value = document.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FlagStateError(f"{key!r} of a client-features state is a list")
    return value


def _compile_flag(feature: Mapping[str, Any], segments: strategies.Segments) -> CompiledFlag:
    name = feature["name"]
    deps = tuple(feature.get("dependencies") or ())
    pick = picker(feature.get("variants") or [], name, _first_stickiness(feature))
    try:
        listed = _strategy_variants(feature, segments)
    except Uncompilable:
        listed = ()  # as the engine: the flag's own variants still answer a dependent flag
    try:
        own = _own_test(feature, segments)
    except Uncompilable as why:
        return CompiledFlag(name, never, listed, pick, deps, feature, problem=f"always off: {why}")
    return CompiledFlag(name, own, listed, pick, deps, feature)


def _own_test(feature: Mapping[str, Any], segments: strategies.Segments) -> Predicate:
    if not feature.get("enabled"):
        return never
    listed = feature.get("strategies") or []
    if not listed:
        return always
    return strategies.disjunction(
        [strategies.compile_strategy(s, segments, feature["name"]) for s in listed]
    )


def _strategy_variants(
    feature: Mapping[str, Any], segments: strategies.Segments
) -> tuple[StrategyVariants, ...]:
    out = []
    for strategy in feature.get("strategies") or []:
        params = strategy.get("parameters") or {}
        group = params.get("groupId")
        pick = picker(
            strategy.get("variants") or [],
            str(group) if group is not None else feature["name"],
            params.get("stickiness") or "default",
        )
        test = strategies.compile_strategy(strategy, segments, feature["name"])
        out.append(StrategyVariants(test, pick))
    if all(entry.pick is None for entry in out):
        return ()  # no strategy has variants: the flag's decide, no strategy need be run again
    return tuple(out)


def _first_stickiness(feature: Mapping[str, Any]) -> str | None:
    variants = feature.get("variants") or []
    return variants[0].get("stickiness") if variants else None


def _with_dependencies(
    flag: CompiledFlag, flags: Mapping[str, CompiledFlag], segments: strategies.Segments
) -> Predicate:
    own = flag.own
    if not flag.dependencies or own is never:
        return own
    checks = [_dependency(dep, flags, flag.name, segments) for dep in flag.dependencies]
    return strategies.conjunction([*checks, own])


def _dependency(
    dep: Mapping[str, Any],
    flags: Mapping[str, CompiledFlag],
    child: str,
    segments: strategies.Segments,
) -> Predicate:
    """A parent that must be on (or off, ``enabled: false``), maybe with one of ``variants``.
    Unleash allows one level: a parent that has parents of its own fails the dependency."""
    parent = flags.get(str(dep.get("feature")))
    if parent is None or parent.dependencies:
        return never
    expected = dep.get("enabled") is not False
    wanted = dep.get("variants")
    parent_own = as_parent(parent, child, segments)

    def check(ctx: Context) -> bool:
        if wanted:
            chosen = parent.variant_of(ctx)
            if chosen is not None and chosen["name"] not in wanted:
                return False
        return parent_own(ctx) is expected

    return check


def as_parent(parent: CompiledFlag, child: str, segments: strategies.Segments) -> Predicate:
    """The parent's own test as Unleash's engine runs it for a dependent flag: a rollout without
    a ``groupId`` buckets by the *child's* name (``"<child>:<userId>"``), not the parent's (found
    by the differential test against yggdrasil-engine 2.0; the specification is silent)."""
    if parent.own is never or parent.problem:
        return parent.own
    try:
        return _own_test({**parent.feature, "name": child}, segments)
    except Uncompilable:
        return never

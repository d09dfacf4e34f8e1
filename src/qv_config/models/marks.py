"""Risk and secret marks (``x-qv-risk``, ``x-qv-secret``) found by walking any JSON Schema.

A mark is keyed by a field-path *pattern*: mapping keys as strings, ``"*"`` for any list item or
any key of an open map, e.g. ``("spec", "allocation", "stages", "*", "capital") -> "ceiling"``.
``match_mark`` matches a concrete path (where list indexes are ints) against those patterns.

A mark on a field that is not a number says how its values rank (docs/format.md, "Risk
marks"): ``x-qv-risk-order`` lists them from tightest to loosest (``[draft, ..., live]``) or
is a relative JSON pointer to the document's own list of them (``"1/stages/*/name"``: the
stages, in deployment order); ``x-qv-risk-when`` limits the mark to documents where sibling
fields hold given values (``{"1/type": "kill-switch"}``). ``match_risk`` gives the whole mark.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

Pattern = tuple[str, ...]
_COMBINATORS = ("anyOf", "oneOf", "allOf")
_CONDITIONAL = ("then", "else")  # ``if`` only decides which applies
# Keywords whose subschema applies to any member (an item or a key's value) not named otherwise.
_ANY_MEMBER = (
    "items",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
)


@dataclass(frozen=True)
class RiskRule:
    """How a marked field that is not a plain limit ranks (empty: numbers and rates as they are).

    ``order``: the values from tightest to loosest; ``order_of``: a relative JSON pointer to the
    document's own values in that order; ``when``: (relative pointer, value) pairs that must all
    hold in the document for the mark to apply."""

    order: tuple[Any, ...] = ()
    order_of: str = ""
    when: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class RiskMark:
    """The risk mark of one field: its direction and, for a ranked field, its rule."""

    direction: str  # "ceiling": a higher rank loosens; "floor": a lower one does
    rule: RiskRule = RiskRule()


@dataclass(frozen=True)
class Marks:
    """Field-path patterns of risk limits ("ceiling" | "floor") and of secret fields; ``rules``
    holds the rank rule of the marked fields that have one."""

    risk: dict[Pattern, str] = field(default_factory=dict)
    secret: frozenset[Pattern] = frozenset()
    rules: dict[Pattern, RiskRule] = field(default_factory=dict)


def resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The schema a local ``$ref`` (or ``$dynamicRef``) points to: a JSON pointer (``#/$defs/X``,
    ``#/definitions/X``) or an anchor (``#name``, a ``$anchor`` or ``$dynamicAnchor``)."""
    ref = node.get("$ref", node.get("$dynamicRef"))
    if not isinstance(ref, str) or not ref.startswith("#"):
        return None  # remote refs are out of scope: service schemas are self-contained
    if ref[1:2] not in ("", "/"):
        return _anchored(root, ref[1:])
    target: Any = root
    for key in pointer_keys(ref[1:]):
        target = target.get(key) if isinstance(target, Mapping) else None
    return target if isinstance(target, Mapping) else None


def pointer_keys(fragment: str) -> list[str]:
    """The keys a URI fragment's JSON pointer names, read as jsonschema-rs reads it (RFC 6901
    §6): the whole fragment percent-decoded first (so ``%2F`` separates keys), then split on
    ``/``, then ``~1`` and ``~0`` unescaped. Any other reading would let a mark the validator
    applies go unseen (``#/$defs/sec%72et`` is ``#/$defs/secret``)."""
    decoded = unquote(fragment)  # malformed escapes: the validator refuses the schema itself
    return [raw.replace("~1", "/").replace("~0", "~") for raw in decoded.split("/")[1:]]


def _anchored(node: Any, name: str) -> Mapping[str, Any] | None:
    """The subschema of ``node`` whose ``$anchor`` or ``$dynamicAnchor`` is ``name``."""
    if isinstance(node, Mapping):
        if name in (node.get("$anchor"), node.get("$dynamicAnchor")):
            return node
        values: Iterable[Any] = node.values()
    elif isinstance(node, list):
        values = node
    else:
        return None
    for value in values:
        found = _anchored(value, name)
        if found is not None:
            return found
    return None


def children(root: Mapping[str, Any], node: Mapping[str, Any]) -> Iterator[tuple[str | None, Any]]:
    """Sub-schemas of ``node`` with the path step that leads to them (None: same path). Every
    2020-12 applicator counts, conditional ones too: a mark says what a field holds wherever
    the schema may apply it."""
    target = resolve(root, node)
    if target is not None:
        yield None, target
    for key, sub in (node.get("properties") or {}).items():
        yield str(key), sub
    for sub in (node.get("patternProperties") or {}).values():
        yield "*", sub
    for word in _ANY_MEMBER:
        if isinstance(node.get(word), Mapping):
            yield "*", node[word]
    for sub in node.get("prefixItems") or ():
        yield "*", sub
    for word in _COMBINATORS:
        for sub in node.get(word) or ():
            yield None, sub
    for word in _CONDITIONAL:
        if isinstance(node.get(word), Mapping):
            yield None, node[word]
    for sub in (node.get("dependentSchemas") or {}).values():
        yield None, sub


def marks(schema: Mapping[str, Any], prefix: Pattern = ()) -> Marks:
    """Every marked field of ``schema``, as paths prefixed with ``prefix``."""
    found = _Found()
    _walk(schema, schema, prefix, found, frozenset())
    return Marks(risk=found.risk, secret=frozenset(found.secret), rules=found.rules)


@dataclass
class _Found:
    risk: dict[Pattern, str] = field(default_factory=dict)
    secret: set[Pattern] = field(default_factory=set)
    rules: dict[Pattern, RiskRule] = field(default_factory=dict)


def _walk(
    root: Mapping[str, Any], node: Any, path: Pattern, found: _Found, active_refs: frozenset[str]
) -> None:
    if not isinstance(node, Mapping):
        return  # a boolean schema carries no marks
    mark = node.get("x-qv-risk")
    if mark in ("ceiling", "floor"):
        found.risk[path] = mark
        rule = _rule(node)
        if rule != RiskRule():
            found.rules[path] = rule
    if node.get("x-qv-secret") is True:
        found.secret.add(path)
    ref = node.get("$ref", node.get("$dynamicRef"))
    if isinstance(ref, str):
        if ref in active_refs:
            return  # a recursive schema: this subtree is already being walked
        active_refs = active_refs | {ref}
    for step, sub in children(root, node):
        _walk(root, sub, path if step is None else (*path, step), found, active_refs)


def _rule(node: Mapping[str, Any]) -> RiskRule:
    """The rank rule of a marked schema node; malformed keywords are ignored like unknown marks."""
    order = node.get("x-qv-risk-order")
    when = node.get("x-qv-risk-when")
    conditions = tuple(sorted(when.items())) if isinstance(when, Mapping) else ()
    return RiskRule(
        order=tuple(order) if isinstance(order, list) else (),
        order_of=order if isinstance(order, str) else "",
        when=tuple((str(k), v) for k, v in conditions),
    )


def marks_for_config_schema(schema: Mapping[str, Any]) -> Marks:
    """Marks of a service schema (``schemas/configs/<name>.schema.json``).

    A service schema describes a Config's ``spec``, not the whole document, so every path is
    prefixed with ``("spec",)`` to be comparable with document field paths.
    """
    return marks(schema, ("spec",))


def match_mark(found: Marks, path: tuple[str | int, ...]) -> str | None:
    """The risk direction of a concrete field path (list indexes are ints and match ``"*"``)."""
    pattern = _risk_pattern(found, path)
    return None if pattern is None else found.risk[pattern]


def match_risk(found: Marks, path: tuple[str | int, ...]) -> RiskMark | None:
    """The whole risk mark (direction and rank rule) of a concrete field path."""
    pattern = _risk_pattern(found, path)
    if pattern is None:
        return None
    return RiskMark(found.risk[pattern], found.rules.get(pattern, RiskRule()))


def _risk_pattern(found: Marks, path: tuple[str | int, ...]) -> Pattern | None:
    exact = tuple(str(p) for p in path)
    if exact in found.risk or not found.risk:
        return exact if exact in found.risk else None
    return next((p for p in found.risk if _matches(p, path)), None)


def is_secret(found: Marks, path: tuple[str | int, ...]) -> bool:
    """Whether a concrete field path is marked ``x-qv-secret``."""
    return any(_matches(pattern, path) for pattern in found.secret)


def _matches(pattern: Pattern, path: tuple[str | int, ...]) -> bool:
    if len(pattern) != len(path):
        return False
    return all(want == "*" or want == str(got) for want, got in zip(pattern, path, strict=True))

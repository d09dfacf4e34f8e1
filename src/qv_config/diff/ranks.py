"""Where a risk-marked value stands: limits as numbers (rates per second), ranked values (a
lifecycle, an allocation stage, a kill switch) by the order their mark gives
(``models.marks.RiskRule``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.diff.rates import comparable
from qv_config.models.marks import RiskMark
from qv_config.yamlio.types import FieldPath


def ranked(mark: RiskMark) -> bool:
    """Whether the mark ranks values by an order (not as numbers)."""
    return bool(mark.rule.order or mark.rule.order_of)


def rank(mark: RiskMark, value: Any, doc: Mapping[str, Any], path: FieldPath) -> float | None:
    """The value's place: its index in the mark's order, else the number it is (None: unknown)."""
    if mark.rule.order:
        return _index(mark.rule.order, value)
    if mark.rule.order_of:
        return _index(tuple(relative(doc, path, mark.rule.order_of)), value)
    return comparable(value)


def applies(mark: RiskMark, doc: Mapping[str, Any], path: FieldPath) -> bool:
    """Whether every ``x-qv-risk-when`` condition holds in ``doc`` (a kill switch's ``type``)."""
    for pointer, want in mark.rule.when:
        found = relative(doc, path, pointer)
        if len(found) != 1 or not _same(found[0], want):
            return False
    return True


def relative(doc: Mapping[str, Any], path: FieldPath, pointer: str) -> list[Any]:
    """The values a relative JSON pointer (``"1/stages/*/name"``) reaches from ``path`` in
    ``doc``: up as many levels as its number, then down its steps, ``*`` taking every item."""
    up, _, rest = pointer.partition("/")
    if not up.isdigit() or int(up) > len(path):
        return []
    nodes: list[Any] = [_at(doc, path[: len(path) - int(up)])]
    for raw in rest.split("/") if rest else ():
        step = raw.replace("~1", "/").replace("~0", "~")
        nodes = [child for node in nodes for child in _step(node, step)]
    return [node for node in nodes if node is not _MISSING]


_MISSING = object()


def _at(doc: Any, path: FieldPath) -> Any:
    node = doc
    for part in path:
        found = _step(node, str(part))
        node = found[0] if found else _MISSING
    return node


def _step(node: Any, step: str) -> list[Any]:
    if isinstance(node, Mapping):
        return list(node.values()) if step == "*" else [node[step]] if step in node else []
    if isinstance(node, list):
        if step == "*":
            return list(node)
        return [node[int(step)]] if step.isdigit() and int(step) < len(node) else []
    return []


def _index(order: tuple[Any, ...], value: Any) -> float | None:
    return next((float(i) for i, item in enumerate(order) if _same(item, value)), None)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and bool(a == b)  # True is not 1 in configuration

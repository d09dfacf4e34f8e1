"""The risk and secret marks of the built-in kinds, kept under ``.qv/cache/marks/``.

Working them out means building every kind's JSON Schema from the pydantic models (~0.15 s, more
than a warm ``qv diff`` of 10,000 documents spends on anything else). They change only with
qv's models, and every record is bound to qv's code (``cache.pack.code_hash``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from qv_config.models.marks import Marks, RiskRule

KINDS = ("Config", "Flag", "Strategy", "RiskPolicy", "ExecutionPolicy", "Environment")
_TABLES: dict[Path | None, dict[str, Marks]] = {}  # per process: ``qv log`` asks per commit


def kind_marks(root: Path | None) -> Callable[[str], Marks]:
    """Marks by kind, from the cache of ``root`` when this qv kept them (None: no cache)."""
    table = _TABLES.get(root)
    if table is None:
        table = _TABLES[root] = _load(root)

    def lookup(kind: str) -> Marks:
        found = table.get(kind)
        if found is None:
            found = table[kind] = _compute(kind)
        return found

    return lookup


def _load(root: Path | None) -> dict[str, Marks]:
    from qv_config.cache.pack import StateMemo

    memo = StateMemo(root, "marks")
    kept = memo.get("kinds", "models") if root is not None else None
    table = _decode(kept) if kept is not None else None
    if table is None:
        table = {kind: _compute(kind) for kind in KINDS}
        memo.put("kinds", "models", _encode(table))
    return table


def _compute(kind: str) -> Marks:
    from qv_config.models import marks_for_kind

    return marks_for_kind(kind)


def _encode(table: dict[str, Marks]) -> dict[str, Any]:
    """Rows ``[path, direction, rule]`` of risk marks and ``[path]`` of secret fields."""
    return {
        kind: [[list(p), mark, _rule_row(m.rules.get(p))] for p, mark in m.risk.items()]
        + [[list(p)] for p in m.secret]
        for kind, m in table.items()
    }


def _rule_row(rule: RiskRule | None) -> list[Any]:
    rule = rule or RiskRule()
    return [list(rule.order), rule.order_of, [list(pair) for pair in rule.when]]


def _decode(kept: Any) -> dict[str, Marks] | None:
    if not isinstance(kept, dict):
        return None
    table: dict[str, Marks] = {}
    for kind, rows in kept.items():
        risk = {tuple(row[0]): row[1] for row in rows if len(row) == 3}
        secret = frozenset(tuple(row[0]) for row in rows if len(row) == 1)
        rules = {tuple(row[0]): _rule(row[2]) for row in rows if len(row) == 3}
        table[kind] = Marks(risk, secret, {p: r for p, r in rules.items() if r != RiskRule()})
    return table


def _rule(row: list[Any]) -> RiskRule:
    order, order_of, when = row
    return RiskRule(tuple(order), order_of, tuple((ptr, value) for ptr, value in when))

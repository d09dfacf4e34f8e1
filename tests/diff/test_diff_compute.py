"""diff_documents: document matching, name-keyed lists, risk direction, secrets, ignores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.diff import diff_documents
from qv_config.models.marks import RiskMark
from qv_config.yamlio.types import FieldPath

CEILINGS = {("spec", "limits", "max_order_notional"), ("spec", "limits", "order_rate")}
FLOORS = {("spec", "min_liquidity")}
SECRETS = {("spec", "db", "password")}


def marks(doc: Mapping[str, Any], path: FieldPath) -> tuple[RiskMark | None, bool]:
    generic = tuple("*" if isinstance(p, int) else p for p in path)
    if generic in CEILINGS or generic == ("spec", "allocation", "stages", "*", "capital"):
        return RiskMark("ceiling"), False
    if generic in FLOORS:
        return RiskMark("floor"), False
    return None, generic in SECRETS


def strategy(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "qv/v1", "kind": "Strategy", "metadata": {"name": "m"}, "spec": spec}


def test_equal_documents_give_an_empty_diff() -> None:
    doc = strategy(limits={"max_order_notional": 1})
    result = diff_documents({"strategy/m": doc}, {"strategy/m": doc}, marks=marks)
    assert result.empty


def test_added_and_removed_documents() -> None:
    result = diff_documents({"strategy/a": strategy()}, {"strategy/b": strategy()}, marks=marks)
    assert [(c.ref, c.op) for c in result.changes] == [
        ("strategy/a", "removed"),
        ("strategy/b", "added"),
    ]
    assert result.count("added") == 1
    assert result.count("removed") == 1


def test_raising_a_ceiling_loosens_and_lowering_tightens() -> None:
    old = {"strategy/m": strategy(limits={"max_order_notional": 500_000, "order_rate": "20/1s"})}
    new = {"strategy/m": strategy(limits={"max_order_notional": 2_000_000, "order_rate": "600/1m"})}
    (change,) = diff_documents(old, new, marks=marks).changes
    risks = {f.field: f.risk for f in change.fields}
    assert risks == {
        "spec.limits.max_order_notional": "loosened",
        "spec.limits.order_rate": "tightened",
    }
    assert change.fields[0].field == "spec.limits.max_order_notional"  # loosened first


def test_floor_direction_and_removed_limit() -> None:
    old = {"strategy/m": strategy(min_liquidity=10, limits={"max_order_notional": 5})}
    new = {"strategy/m": strategy(min_liquidity=5, limits={})}
    (change,) = diff_documents(old, new, marks=marks).changes
    assert {f.field: (f.op, f.risk) for f in change.fields} == {
        "spec.min_liquidity": ("changed", "loosened"),
        "spec.limits.max_order_notional": ("removed", "loosened"),
    }


def test_name_keyed_lists_compare_by_name() -> None:
    stages_old = [{"name": "paper", "capital": 0}, {"name": "full", "capital": 10}]
    stages_new = [
        {"name": "paper", "capital": 0},
        {"name": "canary", "capital": 1},
        {"name": "full", "capital": 20},
    ]
    old = {"strategy/m": strategy(allocation={"stages": stages_old})}
    new = {"strategy/m": strategy(allocation={"stages": stages_new})}
    (change,) = diff_documents(old, new, marks=marks).changes
    got = {f.field: (f.op, f.old, f.new, f.risk) for f in change.fields}
    assert got == {
        "spec.allocation.stages[full].capital": ("changed", 10, 20, "loosened"),
        "spec.allocation.stages[canary]": ("added", None, {"name": "canary", "capital": 1}, None),
    }


def test_secret_values_never_leave_the_diff() -> None:
    old = {"config/db": strategy(db={"password": "hunter2"})}
    new = {"config/db": strategy(db={"password": "correct horse"})}
    (change,) = diff_documents(old, new, marks=marks).changes
    (field,) = change.fields
    assert field.secret
    assert "hunter2" not in repr(field)
    assert "correct horse" not in repr(field)


def test_ignored_paths_are_left_out() -> None:
    old = {"config/x": strategy(endpoints={"api": "a"}, capital=1)}
    new = {"config/x": strategy(endpoints={"api": "b"}, capital=2)}
    result = diff_documents(
        old, new, marks=marks, ignore=[("spec", "endpoints"), ("spec", "capital")]
    )
    assert result.empty


def test_type_changes_are_changes() -> None:
    old = {"config/x": strategy(flag=1)}
    new = {"config/x": strategy(flag=True)}
    (change,) = diff_documents(old, new, marks=marks).changes
    assert change.fields[0].old == 1
    assert change.fields[0].new is True

"""``models.plain`` accepts exactly the documents the kinds' models accept: every example, good
and bad, and every example with one value replaced, added or removed (hypothesis). A document
``plain`` accepted and a model rejected would lose its findings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from qv_config.models import ALL_KINDS, check
from qv_config.models.plain import accepts, plain_schema
from qv_config.yamlio import load_bytes

EXAMPLES = Path(__file__).parent / "examples"
FILES = {
    path.name: load_bytes(path.name, path.read_bytes()).data
    for path in sorted(EXAMPLES.glob("*/*.yaml"))
}
NAMED = {
    name: doc
    for name, doc in FILES.items()
    if isinstance(doc, dict) and doc.get("kind") in ALL_KINDS
}
KINDED = list(NAMED.values())

# Values that pass or fail the models' checks: types (strict), patterns, bounds, dates, enums.
_VALUES = st.sampled_from(
    [None, True, False, 0, 1, -1, 2.5, -0.5, 101, 1e9, "", "x", "live", "draft", "active",
     "qv/v1", "20/1s", "0/1s", "2026-01-01", "2026-13-01", "20260101", "a" * 64, "0" * 64,
     "int", "enum", "float", [], ["a"], [1], {}, {"name": "paper", "capital": 0},
     {"min": 5, "max": 1}, {"type": "enum", "value": "a"}, {"zzz": 1}]
)  # fmt: skip


def _model_accepts(kind: str, data: dict[str, Any]) -> bool:
    try:
        ALL_KINDS[kind].model_validate(data)
    except ValidationError:
        return False
    return True


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for pos, item in enumerate(value):
            found += _paths(item, (*prefix, pos))
    return found


def _edited(doc: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    *parents, last = path
    node: Any = out
    for step in parents:
        node = node[step]
    if how == "remove" and isinstance(node, dict):
        node.pop(last)
    elif how == "add" and isinstance(node[last], dict):
        node[last]["zzz" if value is None else "extra"] = value
    else:
        node[last] = value
    return out


@pytest.mark.parametrize("name", sorted(NAMED))
def test_each_example_is_accepted_as_the_model_does(name: str) -> None:
    doc = NAMED[name]
    assert accepts(doc["kind"], doc) == _model_accepts(doc["kind"], doc)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_edited_documents_are_accepted_as_the_model_does(data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(KINDED))
    path = data.draw(st.sampled_from(_paths(doc)[1:]))
    how = data.draw(st.sampled_from(["replace", "remove", "add"]))
    edited = _edited(doc, path, how, data.draw(_VALUES))
    kind = doc["kind"]
    assert accepts(kind, edited) == _model_accepts(kind, edited), (path, how)


def test_check_finds_the_models_issues() -> None:
    doc = NAMED["strategy-momentum-eu.yaml"]
    assert check("Strategy", doc) == []
    bad = _edited(doc, ("spec", "limits"), "add", 5)
    assert not accepts("Strategy", bad)
    assert [(i.code, i.path) for i in check("Strategy", bad)] == [
        ("QV301", ("spec", "limits", "extra"))
    ]


def test_models_a_function_receives_stay_models() -> None:
    schema = plain_schema(ALL_KINDS["Strategy"].__pydantic_core_schema__)
    kept = [node["schema"]["cls"].__name__ for node in _nodes(schema, "function-after")]
    assert sorted(kept) == ["Parameter", "Range"] or sorted(kept) == ["Parameter"]
    assert not [node for node in _nodes(schema, "model") if node not in _received(schema)]


def _nodes(node: Any, kind: str) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == kind:
            found.append(node)
        for key, value in node.items():
            if key not in ("cls", "function", "metadata"):
                found += _nodes(value, kind)
    elif isinstance(node, list):
        for item in node:
            found += _nodes(item, kind)
    return found


def _received(schema: Any) -> list[dict[str, Any]]:
    return [node["schema"] for node in _nodes(schema, "function-after")]

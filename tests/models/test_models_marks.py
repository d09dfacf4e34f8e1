"""``marks``: risk and secret marks found in any JSON Schema, and matched against field paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from qv_config.models import (
    Marks,
    is_secret,
    marks,
    marks_for_config_schema,
    marks_for_kind,
    match_mark,
    match_risk,
)
from qv_config.models.marks import RiskMark, RiskRule, resolve

SERVICE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "Credentials": {
            "type": "object",
            "properties": {
                "user": {"type": "string"},
                "password": {"type": "string", "x-qv-secret": True},
            },
        },
        "Venue": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "max_order_notional": {"type": "number", "x-qv-risk": "ceiling"},
                "min_spread_bps": {"type": "number", "x-qv-risk": "floor"},
                "login": {"$ref": "#/$defs/Credentials"},
            },
        },
        "Node": {  # recursive: the walker must terminate
            "type": "object",
            "properties": {
                "limit": {"type": "number", "x-qv-risk": "ceiling"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
            },
        },
    },
    "properties": {
        "db": {"$ref": "#/$defs/Credentials"},
        "venues": {"type": "array", "items": {"$ref": "#/$defs/Venue"}},
        "desks": {
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    {"type": "null"},
                    {"properties": {"capital": {"type": "number", "x-qv-risk": "ceiling"}}},
                ]
            },
        },
        "token": {"oneOf": [{"type": "string", "x-qv-secret": True}, {"type": "null"}]},
        "tree": {"allOf": [{"$ref": "#/$defs/Node"}]},
        "not_a_mark": {"type": "number", "x-qv-risk": "sideways"},
    },
}


def test_marks_follow_refs_arrays_maps_and_combinators() -> None:
    found = marks_for_config_schema(SERVICE_SCHEMA)
    assert found.risk == {
        ("spec", "venues", "*", "max_order_notional"): "ceiling",
        ("spec", "venues", "*", "min_spread_bps"): "floor",
        ("spec", "desks", "*", "capital"): "ceiling",
        ("spec", "tree", "limit"): "ceiling",
    }
    assert found.secret == frozenset(
        {
            ("spec", "db", "password"),
            ("spec", "venues", "*", "login", "password"),
            ("spec", "token"),
        }
    )


SECRET = {"type": "string", "x-qv-secret": True}
SCHEMA_2020_12: dict[str, Any] = {
    "$defs": {"key": {"$anchor": "apikey", **SECRET}},
    "$dynamicAnchor": "node",
    "properties": {
        "tls": {"if": {"required": ["cert"]}, "then": {"properties": {"key": SECRET}}},
        "auth": {"else": {"properties": {"token": SECRET}}},
        "retries": {"dependentSchemas": {"user": {"properties": {"password": SECRET}}}},
        "extra": {"unevaluatedProperties": SECRET},
        "pins": {"unevaluatedItems": SECRET, "contains": SECRET},
        "vendor": {"$ref": "#apikey"},
        "children": {"items": {"$dynamicRef": "#node"}},
    },
}


def test_marks_follow_every_2020_12_applicator() -> None:
    """A mark under a 2020-12 applicator is found: QV310 messages mask it, QV601 checks it and
    ``qv secrets encrypt`` encrypts it."""
    top = {
        ("tls", "key"),
        ("auth", "token"),
        ("retries", "password"),
        ("extra", "*"),
        ("pins", "*"),
        ("vendor",),
    }
    # ``$dynamicRef`` to the root is followed one level deep (a recursive ``$ref`` is too).
    nested = {("children", "*", *path) for path in top}
    assert marks(SCHEMA_2020_12).secret == frozenset(top | nested)


# Keys a ``$ref`` pointer may have to spell with escapes; each def's ``const`` names it.
POINTER_DEFS: dict[str, Any] = {
    name: {"const": name} for name in ("secret", "a/b", "a~b", "a b", "a%b", "é", "~1", "%2F", "$x")
} | {"a": {"const": "a", "b": {"const": "a.b"}, "properties": {"b": {"const": "a.properties.b"}}}}
POINTER_SPELLINGS = (
    "#/$defs/secret",
    "#/$defs/sec%72et",
    "#/%24defs/secret",
    "#/$defs/a~1b",
    "#/$defs/a%7E1b",
    "#/$defs/a~0b",
    "#/$defs/a%7e0b",
    "#/$defs/a%2Fb",  # decoded before the split: the key "b" inside "a", not the key "a/b"
    "#/$defs/a%2fproperties%2Fb",
    "#/$defs/a%20b",
    "#/$defs/a%25b",
    "#/$defs/%C3%A9",
    "#/$defs/~01",
    "#/$defs/%252F",
    "#/$defs/%24x",
    "#/$defs/a/properties/b",
    "#/$defs/a",
)


@pytest.mark.parametrize("ref", POINTER_SPELLINGS)
def test_pointer_refs_resolve_as_the_validator_resolves_them(ref: str) -> None:
    """``resolve`` reads a ``$ref`` pointer exactly as jsonschema-rs does (percent-decoding,
    then ``~1``/``~0``): a mark the validator applies is a mark qv sees."""
    root = {"$defs": POINTER_DEFS, "$ref": ref}
    validator = jsonschema_rs.validator_for(root)
    consts = [d["const"] for d in POINTER_DEFS.values()] + ["a.b", "a.properties.b"]
    chosen = [c for c in consts if validator.is_valid(c)]
    target = resolve(root, root)
    assert target is not None
    assert [target["const"]] == chosen


def test_a_secret_mark_behind_a_percent_encoded_ref_is_found() -> None:
    schema = {
        "$defs": {"secret": SECRET},
        "properties": {"tok": {"$ref": "#/$defs/sec%72et"}, "k": {"$ref": "#/$defs/x%2"}},
    }
    assert marks(schema).secret == frozenset({("tok",)})


def test_marks_without_prefix_and_unmarked_schema() -> None:
    assert ("db", "password") in marks(SERVICE_SCHEMA).secret
    assert marks({"type": "object"}) == Marks()
    assert marks({"properties": {"a": True, "b": {"$ref": "#/$defs/missing"}}}) == Marks()


def test_match_mark_matches_concrete_paths() -> None:
    found = marks_for_config_schema(SERVICE_SCHEMA)
    assert match_mark(found, ("spec", "venues", 3, "max_order_notional")) == "ceiling"
    assert match_mark(found, ("spec", "venues", 0, "min_spread_bps")) == "floor"
    assert match_mark(found, ("spec", "desks", "eu-eq", "capital")) == "ceiling"
    assert match_mark(found, ("spec", "venues", 0, "name")) is None
    assert match_mark(found, ("spec", "venues", 0)) is None
    assert match_mark(Marks(), ("spec",)) is None
    assert is_secret(found, ("spec", "venues", 1, "login", "password"))
    assert not is_secret(found, ("spec", "venues", 1, "login", "user"))


def test_built_in_kinds_carry_the_marks_of_docs_format() -> None:
    strategy = marks_for_kind("Strategy")
    for field in (
        "max_gross_exposure",
        "max_net_exposure",
        "max_order_notional",
        "order_rate",
        "max_drawdown_pct",
        "daily_loss_limit",
    ):
        assert strategy.risk[("spec", "limits", field)] == "ceiling"
    assert match_mark(strategy, ("spec", "allocation", "stages", 2, "capital")) == "ceiling"
    assert match_mark(strategy, ("spec", "allocation", "stages", 2, "name")) is None
    env = marks_for_kind("Environment")
    assert env.risk[("spec", "capital")] == "ceiling"
    assert env.risk[("spec", "risk", "limits", "order_rate")] == "ceiling"
    risk = marks_for_kind("RiskPolicy")
    assert risk.risk[("spec", "concentration", "max_sector_pct")] == "ceiling"
    assert match_mark(risk, ("spec", "correlation_groups", 0, "max_gross_exposure")) == "ceiling"
    execution = marks_for_kind("ExecutionPolicy")
    assert match_mark(execution, ("spec", "rules", 1, "params", "max_participation_pct"))
    assert marks_for_kind("Flag").risk == {("spec", "enabled"): "ceiling"}
    assert marks_for_kind("Strategy") is strategy  # cached


def test_marks_of_the_exported_schema_files_equal_the_models(tmp_path: Path) -> None:
    from qv_config.models import export_schemas

    for path in export_schemas(tmp_path):
        if path.name == "strategy.schema.json":
            on_disk = marks(json.loads(path.read_text(encoding="utf-8")))
            assert on_disk == marks_for_kind("Strategy")


def test_ranked_fields_carry_their_order_and_condition() -> None:
    strategy = marks_for_kind("Strategy")
    lifecycle = match_risk(strategy, ("spec", "lifecycle"))
    assert lifecycle is not None
    assert lifecycle.rule.order[-1] == "live"
    assert lifecycle.rule.order.index("draft") < lifecycle.rule.order.index("approved")
    stage = match_risk(strategy, ("spec", "allocation", "current_stage"))
    assert stage == RiskMark("ceiling", RiskRule(order_of="1/stages/*/name"))
    switch = match_risk(marks_for_kind("Flag"), ("spec", "enabled"))
    assert switch == RiskMark(
        "ceiling", RiskRule(order=(False, True), when=(("1/type", "kill-switch"),))
    )
    state = match_risk(marks_for_kind("RiskPolicy"), ("spec", "trading_state"))
    assert state is not None
    assert state.rule.order == ("halted", "reducing", "active")
    plain = match_risk(strategy, ("spec", "limits", "max_order_notional"))
    assert plain == RiskMark("ceiling")


def test_malformed_rank_keywords_are_ignored_like_unknown_marks() -> None:
    schema = {
        "properties": {
            "a": {"x-qv-risk": "ceiling", "x-qv-risk-order": 7, "x-qv-risk-when": ["x"]},
            "b": {"x-qv-risk-order": ["x", "y"]},  # no x-qv-risk: no mark at all
        }
    }
    found = marks(schema)
    assert found.risk == {("a",): "ceiling"}
    assert found.rules == {}
    assert match_risk(found, ("a",)) == RiskMark("ceiling")

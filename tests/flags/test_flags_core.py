"""compile_state, contexts, delta events and features_document: the edges."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest

from qv_config.flags import FlagStateError, compile_state, evaluate, variant
from qv_config.flags.delta import DeltaError, apply_events
from qv_config.flags.unleash import UnknownSegment, features_document, weighted

ROLLOUT = {
    "name": "r",
    "enabled": True,
    "strategies": [
        {
            "name": "flexibleRollout",
            "parameters": {"rollout": "50", "stickiness": "tenant", "groupId": "g"},
            "constraints": [{"contextName": "size", "operator": "NUM_GT", "value": "10"}],
        }
    ],
}


def test_context_shapes_agree() -> None:
    state = compile_state({"features": [ROLLOUT]})
    for tenant in (f"t{i}" for i in range(200)):
        nested = state.is_enabled("r", {"properties": {"tenant": tenant, "size": "11"}})
        flat = state.is_enabled("r", {"tenant": tenant, "size": 11})  # flat, not a str
        assert nested is flat
    assert not state.is_enabled("r", {"tenant": "t1"})  # size absent
    props_win = {"properties": {"size": "5"}, "size": "50", "tenant": "t1"}
    assert not state.is_enabled("r", props_win)


def test_current_time_defaults_to_now_and_takes_datetimes() -> None:
    feature = {
        "name": "d",
        "enabled": True,
        "strategies": [{"name": "default", "constraints": [
            {"contextName": "currentTime", "operator": "DATE_AFTER",
             "value": "2020-01-01T00:00:00Z"}]}],
    }  # fmt: skip
    assert evaluate({"features": [feature]}, "d", {})
    early = datetime(2019, 5, 1, tzinfo=timezone.utc)  # noqa: UP017 - the test reads plainly
    assert not evaluate({"features": [feature]}, "d", {"currentTime": early})


def test_wrappers_and_unknown_flags() -> None:
    doc = {"features": [{"name": "on", "enabled": True, "strategies": []}]}
    assert evaluate(doc, "on", {})
    assert not evaluate(doc, "off", {})
    assert variant(doc, "on", {}) == {
        "name": "disabled", "enabled": False, "feature_enabled": True, "payload": None
    }  # fmt: skip
    assert variant(compile_state(doc), "off", {})["feature_enabled"] is False


@pytest.mark.parametrize(
    "document",
    [[], {"features": {}}, {"features": [{"enabled": True}]}, {"features": ["x"]},
     {"segments": 3, "features": []},
     {"features": [{"name": "x", "enabled": True, "strategies": ["default"]}]},
     {"features": [{"name": "x", "enabled": True, "strategies": [{"name": "default",
                                                                  "constraints": [3]}]}]}],
)  # fmt: skip
def test_documents_that_are_not_states(document: Any) -> None:
    with pytest.raises(FlagStateError):
        compile_state(document)


def test_a_refused_flag_is_named_and_off() -> None:
    bad = {"name": "b", "enabled": True, "strategies": [{"name": "default", "constraints": [
        {"contextName": "x", "operator": "NUM_EQ", "value": "ten"}]}]}  # fmt: skip
    state = compile_state({"features": [bad]})
    assert state.warnings == ("b: always off: not a number: 'ten'",)
    assert not state.is_enabled("b", {"properties": {"x": "ten"}})


def test_delta_events() -> None:
    base = {
        "features": [{"name": "a", "enabled": True}],
        "segments": [{"id": 1, "constraints": []}],
    }
    events = [
        {"type": "feature-updated", "feature": {"name": "b", "enabled": True}},
        {"type": "feature-removed", "featureName": "a"},
        {"type": "segment-removed", "segmentId": 1},
        {"type": "segment-updated", "segment": {"id": 2, "constraints": []}},
    ]
    state = apply_events(base, events)
    assert [f["name"] for f in state["features"]] == ["b"]
    assert [s["id"] for s in state["segments"]] == [2]
    hydrated = apply_events(state, [{"type": "hydration", "features": [], "segments": []}])
    assert hydrated["features"] == []
    assert hydrated["segments"] == []
    with pytest.raises(DeltaError, match="unknown delta event type 'feature-archived'"):
        apply_events(None, [{"type": "feature-archived"}])
    with pytest.raises(DeltaError, match="lacks"):
        apply_events(None, [{"type": "feature-updated"}])
    compiled = compile_state({"events": events[:1]})
    assert compiled.is_enabled("b", {})


def test_weights_completed_as_the_server_does() -> None:
    made = weighted([{"name": "a", "weightType": "fix", "weight": 100},
                     {"name": "b"}, {"name": "c", "weightType": "variable", "weight": 7},
                     {"name": "d"}])  # fmt: skip
    assert [v["weight"] for v in made] == [100, 300, 300, 300]
    odd = weighted([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    assert [v["weight"] for v in odd] == [334, 333, 333]
    assert all(v["stickiness"] == "default" for v in odd)


def test_features_document_from_flag_documents() -> None:
    flag = {
        "metadata": {"name": "f", "owner": "me"},
        "spec": {"type": "release", "expires": "2020-01-01", "enabled": True,
                 "strategies": [{"name": "default", "segments": ["s"]},
                                {"name": "default", "disabled": True}]},
    }  # fmt: skip
    segments = [
        {"name": "s", "constraints": [{"contextName": "a", "operator": "IN", "values": ["1"]}]}
    ]
    doc = features_document([flag], segments, today=date(2026, 1, 1))
    [feature] = doc["features"]
    assert feature["stale"] is True
    assert len(feature["strategies"]) == 1
    assert feature["strategies"][0]["segments"] == [1]
    state = compile_state(doc)
    assert state.is_enabled("f", {"a": "1"})
    assert not state.is_enabled("f", {"a": "2"})
    with pytest.raises(UnknownSegment, match="segment 's'"):
        features_document([flag], [])

"""Differential property test: qv's evaluator against Unleash's own engine (yggdrasil-engine)
over generated states and contexts. Cases whose answer depends on a coin (random stickiness,
gradualRolloutRandom between 0 and 100) are told apart by qv's own code and not compared."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qv_config.flags import compile_state
from qv_config.flags.context import unleash_context
from tests.flags.coins import Coin, no_coins
from tests.flags.generators import contexts, states

yggdrasil = pytest.importorskip("yggdrasil_engine.engine")


def engine_for(state: dict[str, Any]) -> Any:
    engine = yggdrasil.UnleashEngine()
    engine.take_state(json.dumps(state))
    return engine


def disagreements(state: dict[str, Any], ctxs: list[dict[str, Any]]) -> list[str]:
    ours, theirs = compile_state(state), engine_for(state)
    found = []
    with no_coins():
        for ctx in ctxs:
            plain = unleash_context(ctx)
            for feature in state["features"]:
                name = feature["name"]
                try:
                    enabled = ours.is_enabled(name, ctx)
                    picked = ours.variant(name, ctx)
                except Coin:
                    continue
                if enabled != theirs.check_enabled(name, plain).is_enabled:
                    found.append(f"is_enabled {name} {ctx}: qv {enabled}")
                reference = theirs.check_variant(name, plain).variant
                expected = {
                    "name": reference.name,
                    "enabled": reference.enabled,
                    "feature_enabled": reference.feature_enabled,
                    "payload": reference.payload,
                }
                if picked != expected:
                    found.append(f"variant {name} {ctx}: qv {picked}, Unleash {expected}")
    return found


EXAMPLES = int(os.environ.get("QV_FLAGS_EXAMPLES", "400"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=states(), ctxs=st.lists(contexts(), min_size=1, max_size=12))
def test_qv_agrees_with_unleash_engine(state: dict[str, Any], ctxs: list[dict[str, Any]]) -> None:
    found = disagreements(state, ctxs)
    assert not found, json.dumps(state) + "\n" + "\n".join(found[:5])


def test_a_parent_rollout_buckets_by_the_dependent_flags_name() -> None:
    """Found by the property above: Unleash's engine runs a parent's rollout (no groupId) with
    the *child's* name as its group: bucket("f0:u1") = 14, bucket("f1:u1") = 45."""
    for rollout, child_on in (("13", False), ("14", True)):
        parent = {"name": "flexibleRollout", "parameters": {"rollout": rollout}}
        state = {
            "version": 2,
            "features": [
                {
                    "name": "f0",
                    "enabled": True,
                    "strategies": [],
                    "dependencies": [{"feature": "f1"}],
                },
                {"name": "f1", "enabled": True, "strategies": [parent]},
            ],
        }
        ctx = {"sessionId": "u1"}
        assert compile_state(state).is_enabled("f0", ctx) is child_on
        assert compile_state(state).is_enabled("f1", ctx) is False
        assert disagreements(state, [ctx]) == []

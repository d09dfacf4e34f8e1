"""The trace of ``qv flags eval`` tells the same story as the compiled answer."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qv_config.flags import compile_state
from qv_config.flags.explain import Explanation, explain
from tests.flags.coins import Coin, no_coins
from tests.flags.generators import contexts, states


def verdict(e: Explanation) -> bool | None:
    """On or off as the trace reads (None: a random draw decides)."""
    if not e.feature_enabled or e.problem or not all(d.passed for d in e.dependencies):
        return False
    if not e.strategies:
        return True
    passes = [s.passed for s in e.strategies]
    if True in passes:
        return True
    return None if None in passes else False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(state=states(), ctxs=st.lists(contexts(), min_size=1, max_size=8))
def test_trace_matches_answer(state: dict[str, Any], ctxs: list[dict[str, Any]]) -> None:
    compiled = compile_state(state)
    with no_coins():
        for ctx in ctxs:
            for feature in state["features"]:
                try:
                    result = explain(compiled, feature["name"], ctx)
                except Coin:
                    continue
                read = verdict(result)
                if read is not None:
                    assert read is result.enabled, (feature, ctx, result)


def test_unknown_flag_is_off() -> None:
    result = explain(compile_state({"features": []}), "nope", {})
    assert not result.found
    assert result.enabled is False
    assert result.variant == {
        "name": "disabled", "enabled": False, "feature_enabled": False, "payload": None
    }  # fmt: skip

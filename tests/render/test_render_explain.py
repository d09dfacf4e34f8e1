"""Provenance: RenderedDoc.locate and explain() across templates, base and overlay."""

from __future__ import annotations

from typing import Any

import pytest

from qv_config.errors import UsageError
from qv_config.render import explain, render_environment


def test_locate_points_at_the_last_layer_that_set_the_value(tree: Any, snap: Any) -> None:
    doc = render_environment(snap(tree()), "prod").docs["prod/strategy/momentum-eu"]
    limit = doc.locate(("spec", "limits", "max_order_notional"))
    assert limit.file == "environments/prod/strategies/momentum-eu.yaml"
    assert limit.mark is not None
    assert limit.mark.line == 4
    rate = doc.locate(("spec", "limits", "order_rate"))
    assert (rate.file, rate.mark and rate.mark.line) == ("templates/strategy/base.yaml", 9)
    stage = doc.locate(("spec", "allocation", "stages", 1, "capital"))
    assert (stage.file, stage.mark and stage.mark.line) == ("templates/strategy/base.yaml", 14)


def test_explain_replaced_parent_and_named_items(tree: Any, snap: Any) -> None:
    files = {
        "environments/prod/strategies/momentum-eu.yaml": """\
            spec:
              limits: !replace {max_order_notional: 1}
              allocation:
                stages:
                  - {name: full, capital: 5}
            """
    }
    snapshot = snap(tree(files))
    rate = explain(snapshot, "prod", "strategy/momentum-eu", "spec.limits.order_rate")
    assert [(s.label, s.action) for s in rate.steps] == [
        ("strategy/base", "set"),
        ("environments/prod/strategies/momentum-eu.yaml", "replaced"),
    ]
    assert not rate.present
    assert not any(s.won for s in rate.steps)
    full = explain(snapshot, "prod", "strategy/momentum-eu", "spec.allocation.stages[1].capital")
    assert [(s.role, s.value, s.won) for s in full.steps] == [
        ("template", 1000, False),
        ("overlay", 5, True),
    ]
    assert full.steps[1].mark is not None
    assert full.steps[1].mark.line == 5
    assert full.final == 5


def test_explain_needs_exactly_one_document(tree: Any, snap: Any) -> None:
    with pytest.raises(UsageError, match="exactly one document"):
        explain(snap(tree()), "prod", "*/*", "spec")

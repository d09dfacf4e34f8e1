"""Activating risk is marked like loosening a limit: a strategy's lifecycle moving toward live,
its activation, a later allocation stage, a kill switch enabled again (trading allowed) and a
risk policy's trading state toward active are "loosened" and shown first by `qv diff` and
`qv review`; the way back is "tightened"; a release flag enabled is no risk. Real Git history of
the starter project, the CLI in process; ranks of malformed documents give no mark."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qv_config.diff import diff_documents
from qv_config.diff.ranks import relative
from qv_config.diff.sides import mark_lookup

Qv = Callable[..., Any]
Repo = Any
OVERLAY = "environments/dev/strategies/example-momentum.yaml"
SWITCH = "environments/dev/flags/kill-example-momentum.yaml"
RELEASE = "environments/dev/flags/new-blotter.yaml"
POLICY = "environments/dev/risk-policies/example-standard.yaml"


def _release(enabled: str) -> str:
    return (
        "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: new-blotter}\n"
        f"spec:\n  type: release\n  enabled: {enabled}\n  strategies:\n    - name: default\n"
    )


def _activating(repo: Repo) -> None:
    """HEAD~1: halted, inactive, draft on paper, the kill switch off. HEAD: everything on."""
    repo.replace(SWITCH, "  enabled: true", "  enabled: false")
    repo.write(OVERLAY, "spec:\n  activation: inactive\n")
    repo.write(RELEASE, _release("false"))
    repo.replace(POLICY, "trading_state: active", "trading_state: halted")
    repo.commit("Everything off")
    repo.replace(SWITCH, "  enabled: false", "  enabled: true")
    repo.write(
        OVERLAY,
        "spec:\n  activation: active\n  lifecycle: approved\n"
        "  parameters: {lookback_days: {type: int, value: 100, min: 20, max: 250}}\n"
        "  allocation: {current_stage: canary}\n  limits: {max_order_notional: 40000}\n",
    )
    repo.write(RELEASE, _release("true"))
    repo.replace(POLICY, "trading_state: halted", "trading_state: active")
    repo.commit("Go")


def _risks(data: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    return {c["ref"]: {f["path"]: f["risk"] for f in c["fields"]} for c in data["changes"]}


def test_diff_marks_activation_as_loosening_and_shows_it_first(repo: Repo, qv: Qv) -> None:
    _activating(repo)
    done = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD", "--format", "json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    risks = _risks(data)
    assert risks["strategy/example-momentum"] == {
        "spec.lifecycle": "loosened",
        "spec.activation": "loosened",
        "spec.allocation.current_stage": "loosened",
        "spec.limits.max_order_notional": "tightened",
        "spec.parameters.lookback_days.value": None,
    }
    assert risks["flag/kill-example-momentum"] == {"spec.enabled": "loosened"}
    assert risks["flag/new-blotter"] == {"spec.enabled": None}  # a release flag: no risk
    assert risks["risk-policy/example-standard"] == {"spec.trading_state": "loosened"}
    refs = [c["ref"] for c in data["changes"]]
    assert refs[-1] == "flag/new-blotter"  # the one document that loosens nothing comes last
    fields = [f["path"] for f in data["changes"][refs.index("strategy/example-momentum")]["fields"]]
    assert set(fields[:3]) == {"spec.lifecycle", "spec.activation", "spec.allocation.current_stage"}
    assert data["summary"]["loosened"] == 5
    text = qv(repo.root, "diff", "dev@HEAD~1", "dev@HEAD")
    assert 'spec.lifecycle: "draft" → "approved"  LOOSENED' in text.out
    assert "spec.enabled: false → true  LOOSENED" in text.out


def test_the_way_back_tightens(repo: Repo, qv: Qv) -> None:
    _activating(repo)
    data = json.loads(qv(repo.root, "diff", "dev@HEAD", "dev@HEAD~1", "--format", "json").out)
    risks = _risks(data)
    assert risks["strategy/example-momentum"]["spec.lifecycle"] == "tightened"
    assert risks["strategy/example-momentum"]["spec.allocation.current_stage"] == "tightened"
    assert risks["flag/kill-example-momentum"] == {"spec.enabled": "tightened"}
    assert risks["risk-policy/example-standard"] == {"spec.trading_state": "tightened"}


def test_review_puts_activation_first_and_warns(repo: Repo, qv: Qv) -> None:
    _activating(repo)
    review = qv(repo.root, "review", "--base", "HEAD~1", "--format", "markdown")
    assert review.code == 0, review.err
    assert "5 risk limit(s) loosened" in review.out
    body = review.out
    assert body.index("kill-example-momentum") < body.index("new-blotter")
    assert "| `spec.enabled` | `false → true` | **loosened** |" in body


def test_ranks_of_malformed_documents_give_no_mark(repo: Repo) -> None:
    lookup = mark_lookup(lambda _path: None)

    def strategy(stage: str, stages: Any) -> dict[str, Any]:
        allocation = {"current_stage": stage, "stages": stages}
        return {"kind": "Strategy", "spec": {"allocation": allocation, "lifecycle": "live"}}

    stages = [{"name": "paper"}, {"name": "full"}]
    cases = [
        (strategy("paper", stages), strategy("nowhere", stages)),  # not a stage of the list
        (strategy("paper", "not a list"), strategy("full", "not a list")),
        (strategy("paper", stages), {"kind": "Strategy", "spec": {"lifecycle": 7}}),
    ]
    for old, new in cases:
        result = diff_documents({"strategy/s": old}, {"strategy/s": new}, marks=lookup)
        assert all(f.risk is None for c in result.changes for f in c.fields), (old, new)
    switch = {"kind": "Flag", "spec": {"enabled": False}}  # no type: the condition fails
    on = {"kind": "Flag", "spec": {"enabled": True}}
    (change,) = diff_documents({"flag/k": switch}, {"flag/k": on}, marks=lookup).changes
    assert change.fields[0].risk is None


def test_relative_pointers() -> None:
    doc = {"spec": {"a": {"stages": [{"name": "x"}, {"name": "y"}], "s": 1}, "t/u": 2}}
    path = ("spec", "a", "s")
    assert relative(doc, path, "1/stages/*/name") == ["x", "y"]
    assert relative(doc, path, "1/stages/1/name") == ["y"]
    assert relative(doc, path, "2/t~1u") == [2]
    assert relative(doc, path, "0") == [1]
    assert relative(doc, path, "9/x") == []  # above the document
    assert relative(doc, path, "up/x") == []  # not a relative pointer
    assert relative(doc, path, "1/stages/7/name") == []

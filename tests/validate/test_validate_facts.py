"""The facts kept of a strategy (its evidence and allocation trimmed to what the cross-document
rules read) give the findings the whole of those fields gives, on edge cases of each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from qv_config.validate.engine import cross_issues
from qv_config.validate.facts import extract, plain
from qv_config.validate.types import CrossContext, DocFacts, Issue

EVIDENCE = {
    "backtest_report": "reports/backtests/s.html",
    "sha256": "0" * 64,
    "period": {"start": "2020-01-01", "end": "2024-12-31"},
    "max_drawdown_pct": 12.5,
    "sharpe": 1.2,
}
STAGES = [{"name": "paper", "capital": 0}, {"name": "full", "capital": 2_500_000.5}]

EVIDENCES: list[Any] = [
    EVIDENCE,
    {},
    {"sharpe": 1.0},
    "see the wiki",
    None,
    {"max_drawdown_pct": 3},
]
ALLOCATIONS: list[Any] = [
    {"current_stage": "full", "stages": STAGES},
    {"stages": [5, {"name": None, "capital": 100}]},  # no current stage: an item that is no mapping
    {"current_stage": "full", "stages": [{"name": "full", "capital": 1}, *STAGES]},
    {"current_stage": "canary", "stages": STAGES},
    {"current_stage": "full", "stages": {"full": 10}},
    {"current_stage": "full", "stages": [{"name": "full", "capital": "lots", "note": "x"}]},
    "all of it",
]


def _whole(key: str, kind: str, name: str, spec: dict[str, Any]) -> DocFacts:
    """Facts without trimming: every field as written."""
    return DocFacts(key, kind, name, plain(spec))


def _issues(make: Any, strategies: list[dict[str, Any]]) -> list[Issue]:
    docs = {}
    env = {"tier": "prod", "capital": -1, "admits_lifecycle": ["live"]}
    docs["dev/environment/dev"] = make("dev/environment/dev", "Environment", "dev", env)
    policy = {"limits": {"max_drawdown_pct": 10}}
    docs["dev/risk-policy/pol"] = make("dev/risk-policy/pol", "RiskPolicy", "pol", policy)
    for at, spec in enumerate(strategies):
        key = f"dev/strategy/s{at}"
        docs[key] = make(key, "Strategy", f"s{at}", spec)
    ctx = CrossContext("dev", docs, docs["dev/environment/dev"], date(2026, 12, 7))
    return list(cross_issues(ctx))


def _strategy(evidence: Any, allocation: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "lifecycle": "live",
        "activation": "active",
        "risk_policy": "pol",
        "limits": {"max_drawdown_pct": 10},
    }
    if evidence is not None:
        spec["evidence"] = evidence
    spec["allocation"] = allocation
    return spec


@pytest.mark.parametrize("allocation", ALLOCATIONS)
def test_trimmed_facts_give_the_findings_of_the_whole_fields(allocation: Any) -> None:
    strategies = [_strategy(evidence, allocation) for evidence in EVIDENCES]
    trimmed = _issues(lambda *args: extract(*args[:3], {"spec": args[3]}), strategies)
    assert trimmed == _issues(_whole, strategies)
    assert {issue.code for issue in trimmed} >= {"QV520", "QV531", "QV532"}


def test_facts_keep_only_what_the_rules_read() -> None:
    spec = _strategy(EVIDENCE, {"current_stage": "full", "stages": STAGES})
    facts = extract("dev/strategy/s", "Strategy", "s", {"spec": spec})
    assert facts.spec["evidence"] == {"max_drawdown_pct": 12.5}
    assert facts.spec["allocation"] == {"current_stage": "full", "stages": [STAGES[1]]}
    bare = extract("dev/strategy/s", "Strategy", "s", {"spec": _strategy({"sharpe": 1}, {})})
    assert bare.spec["evidence"] == {"max_drawdown_pct": None}  # some evidence, no drawdown

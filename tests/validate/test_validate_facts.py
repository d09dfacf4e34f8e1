"""The facts kept of a strategy (its evidence and allocation trimmed to what the cross-document
rules read) give the findings the whole of those fields gives, on edge cases of each."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qv_config.validate.engine import cross_issues
from qv_config.validate.facts import extract, plain
from qv_config.validate.types import CrossContext, DocFacts, Issue
from qv_config.yamlio import ReplaceDict, ReplaceList

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


# --- the facts cut out of a document's value are those cut out of a whole copy of it ---------


def _copied_then_trimmed(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The facts as first written: every kept field copied whole (``plain``), then trimmed."""
    keep = {"Strategy": ("evidence", "allocation", "limits"), "Flag": _FLAG_FIELDS}[kind]
    out = {field: plain(spec[field]) for field in keep if field in spec}
    if kind == "Strategy":
        evidence = out.get("evidence")
        if type(evidence) is dict and evidence:
            out["evidence"] = {"max_drawdown_pct": evidence.get("max_drawdown_pct")}
        allocation = out.get("allocation")
        if type(allocation) is dict and type(allocation.get("stages")) is list:
            current = allocation.get("current_stage")
            named = [i for i in allocation["stages"] if _name(i) == current]
            allocation["stages"] = named[:1]
        return out
    if "variants" in out:
        out["variants"] = bool(out["variants"])
    if isinstance(out.get("strategies"), list):
        out["strategies"] = [
            {"segments": s.get("segments"), "variants": bool(s.get("variants"))}
            if isinstance(s, dict)
            else s
            for s in out["strategies"]
        ]
    if isinstance(out.get("dependencies"), list):
        out["dependencies"] = [
            {"feature": d.get("feature")} if isinstance(d, dict) else d for d in out["dependencies"]
        ]
    return out


def _name(item: Any) -> Any:
    return item.get("name") if type(item) is dict else None


_FLAG_FIELDS = ("type", "expires", "variants", "strategies", "dependencies")
_KEYS = st.sampled_from(
    ["name", "current_stage", "stages", "max_drawdown_pct", "segments", "variants", "feature", "x"]
)
_SCALARS = st.none() | st.booleans() | st.integers(-2, 2) | st.sampled_from(["a", "b", "", 1.5])


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    keyed = st.dictionaries(_KEYS | st.integers(0, 1), children, max_size=4)
    items = st.lists(children, max_size=4)
    return keyed | keyed.map(ReplaceDict) | items | items.map(ReplaceList)


_VALUES = st.recursive(_SCALARS, _containers, max_leaves=14)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["Strategy", "Flag"]),
    st.dictionaries(
        _KEYS | st.sampled_from(["evidence", "allocation", "limits", *_FLAG_FIELDS]),
        _VALUES,
        max_size=6,
    ),
)
def test_facts_cut_from_the_value_are_those_cut_from_a_copy(
    kind: str, spec: dict[str, Any]
) -> None:
    facts = extract("dev/x/n", kind, "n", {"spec": spec})
    expected = _copied_then_trimmed(kind, spec)
    assert {k: facts.spec[k] for k in expected} == expected
    assert repr({k: facts.spec[k] for k in expected}) == repr(expected)  # order and types too

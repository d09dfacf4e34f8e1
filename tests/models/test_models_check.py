"""``check`` beyond the example folders: odd inputs, messages, the Project model, and speed."""

from __future__ import annotations

import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import ValidationError

from qv_config.models import KIND_SLUGS, KINDS, Project, ProjectLimits, check
from qv_config.repo import WorkTreeSource, load_snapshot


def _strategy(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "1.0.0",
        "lifecycle": "live",
        "activation": "active",
        "parameters": {"lookback": {"type": "int", "value": 20, "min": 1, "max": 250}},
        "risk_policy": "equity-standard",
        "kill_switch_flag": "kill-x",
        "limits": {"max_order_notional": 500000, "order_rate": "20/1s"},
        "allocation": {"current_stage": "paper", "stages": [{"name": "paper", "capital": 0}]},
    }
    body.update(spec)
    return {"apiVersion": "qv/v1", "kind": "Strategy", "metadata": {"name": "s"}, "spec": body}


def test_kinds_table_matches_the_render_slugs() -> None:
    assert set(KINDS) == set(KIND_SLUGS)


def test_non_mapping_document_and_other_mapping_types() -> None:
    assert [(i.code, i.path) for i in check("Strategy", ["a"])] == [("QV303", ())]  # type: ignore[arg-type]
    assert check("Strategy", MappingProxyType(_strategy())) == []


def test_unknown_kind_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        check("Deployment", {})


def test_unknown_field_without_a_close_match_lists_the_allowed_names() -> None:
    (issue,) = check("Strategy", _strategy(limits={"zzz": 1}))
    assert issue.message.startswith("unknown field 'zzz' (allowed: daily_loss_limit, ")


def test_union_noise_becomes_one_issue() -> None:
    doc = _strategy(parameters={"p": {"type": "int", "value": {"a": 1}, "min": "low"}})
    issues = check("Strategy", doc)
    assert sorted(i.path for i in issues) == [
        ("spec", "parameters", "p", "min"),
        ("spec", "parameters", "p", "value"),
    ]
    by_path = {i.path[-1]: i.message for i in issues}
    assert by_path["min"] == "expected a number, got 'low'"
    assert by_path["value"] == "expected a number, a boolean or a string, got a mapping"


def test_dates_accept_iso_strings_and_date_objects_only() -> None:
    from datetime import date

    flag: dict[str, Any] = {"apiVersion": "qv/v1", "kind": "Flag", "metadata": {"name": "f"},
            "spec": {"type": "ops", "enabled": True, "expires": "2027-03-31"}}  # fmt: skip
    assert check("Flag", flag) == []
    flag["spec"]["expires"] = date(2027, 3, 31)
    assert check("Flag", flag) == []
    for bad in ("20270331", "2027-W13-3", 1798675200, True):
        flag["spec"]["expires"] = bad
        (issue,) = check("Flag", flag)
        assert issue.path == ("spec", "expires")
        assert "YYYY-MM-DD" in issue.message


def test_models_are_frozen_and_project_defaults() -> None:
    project = Project.model_validate(
        {
            "apiVersion": "qv/v1",
            "kind": "Project",
            "metadata": {"name": "p"},
            "spec": {"environments": ["dev"]},
        }
    )
    assert project.spec.bases == ["strategies"]
    assert project.spec.store == "sqlite:.qv/state.db"
    assert project.spec.limits == ProjectLimits()
    with pytest.raises(ValidationError):
        project.spec.store = "redis://x:6379/0"  # type: ignore[misc]


def test_project_limits_reach_the_loader(tmp_path: Path) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "big.yaml").write_text("a: " + "x" * 300 + "\n")
    manifest = (
        "apiVersion: qv/v1\nkind: Project\nmetadata: {name: p}\nspec:\n  environments: [dev]\n"
    )
    (tmp_path / "qv.yaml").write_text(manifest)
    assert not [f for f in load_snapshot(WorkTreeSource(tmp_path)).findings if f.code == "QV106"]
    (tmp_path / "qv.yaml").write_text(manifest + "  limits: {max_file_bytes: 200}\n")
    snapshot = load_snapshot(WorkTreeSource(tmp_path))
    assert [f.file for f in snapshot.findings if f.code == "QV106"] == ["strategies/big.yaml"]
    (tmp_path / "qv.yaml").write_text(manifest + "  limits: {max_file_bytes: -1}\n")
    assert [f.code for f in load_snapshot(WorkTreeSource(tmp_path)).findings][:1] == ["QV205"]


def test_check_is_fast_on_the_happy_path() -> None:
    docs = [_strategy(version=f"1.0.{i}") for i in range(2000)]
    check("Strategy", docs[0])  # warm-up
    start = time.perf_counter()
    for doc in docs:
        assert not check("Strategy", doc)
    per_doc_us = (time.perf_counter() - start) / len(docs) * 1e6
    assert per_doc_us < 500, f"{per_doc_us:.0f} µs per document"  # measured ~15 µs; 2 busy cores

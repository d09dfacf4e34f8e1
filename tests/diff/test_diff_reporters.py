"""Diff reporters: text folding, markdown parsed by a GitHub-flavoured renderer, json."""

from __future__ import annotations

import json

import pytest
from markdown_it import MarkdownIt

from qv_config.diff import reporters
from qv_config.diff.model import DocChange, EnvDiff, FieldChange
from qv_config.errors import UsageError


def _diff() -> EnvDiff:
    loosen = FieldChange(
        ("spec", "limits", "max_order_notional"), "changed", 500_000, 2_000_000, "loosened"
    )
    tighten = FieldChange(
        ("spec", "limits", "order_rate"), "changed", "20/1s", "10/1s", "tightened"
    )
    secret = FieldChange(("spec", "db", "password"), "changed", "(secret)", "(secret)", None, True)
    return EnvDiff(
        "prod@main",
        "prod",
        (
            DocChange(
                "strategy/momentum-eu", "Strategy", "momentum-eu", "changed", (loosen, tighten)
            ),
            DocChange("config/oms", "Config", "oms", "changed", (secret,)),
            DocChange("flag/new-flag", "Flag", "new-flag", "added"),
        ),
    )


def test_text_marks_loosened_and_hides_secrets() -> None:
    out = reporters.text(_diff())
    assert "1 added, 0 removed, 2 changed, 1 risk limit(s) loosened" in out
    assert "500,000 → 2,000,000" in out
    assert "LOOSENED" in out
    assert "(secret changed)" in out


def test_text_folds_long_documents() -> None:
    fields = tuple(FieldChange(("spec", f"k{i}"), "changed", i, i + 1) for i in range(100))
    diff = EnvDiff("a", "b", (DocChange("config/x", "Config", "x", "changed", fields),))
    out = reporters.text(diff)
    assert "… and 60 more field changes" in out
    assert out.count("spec.k") == 40


def test_long_lists_fold_with_a_count() -> None:
    field = FieldChange(("spec", "venues"), "changed", [], list(range(20)))
    diff = EnvDiff("a", "b", (DocChange("config/x", "Config", "x", "changed", (field,)),))
    assert "… 14 more]" in reporters.text(diff)


def test_review_markdown_parses_to_table_and_collapsible_sections() -> None:
    md = reporters.review_markdown(
        {"dev": EnvDiff("dev@base", "dev", ()), "prod": _diff()}, "main", "feature"
    )
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(md)
    assert any(t.type == "table_open" for t in tokens)
    cells = [t.content for t in tokens if t.type == "inline"]
    assert "`prod`" in cells
    assert "**1** ⚠️" in cells  # loosened column of prod
    html = MarkdownIt("commonmark", {"html": True}).enable("table").render(md)
    assert html.count("<details") == 2
    assert "<details open>" in html  # the environment with a loosened limit starts open
    assert md.startswith(reporters.REVIEW_MARKER)


def test_json_is_stable_and_secret_free() -> None:
    data = json.loads(reporters.as_json(_diff()))
    assert data["summary"] == {"added": 1, "removed": 0, "changed": 2, "loosened": 1}
    fields = data["changes"][0]["fields"]
    assert fields[0]["risk"] == "loosened"
    assert data["changes"][1]["fields"][0]["old"] == "(secret)"


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="choose one of text, markdown, json"):
        reporters.get("yaml")

"""Review and diff markdown built from hostile names, paths and values (environment names come
from qv.yaml, refs and field paths from documents, left/right from the command line): the
structure GitHub renders is qv's alone."""

from __future__ import annotations

from qv_config.diff import reporters
from qv_config.diff.model import DocChange, EnvDiff, FieldChange
from tests.output.hostile import HOSTILE, assert_inert_markdown, code_spans


def _diff(left: str, right: str) -> EnvDiff:
    fields = tuple(
        FieldChange(("spec", text), "changed", old=name, new=text, label=f"spec.{text}")
        for name, text in HOSTILE.items()
    )
    loosened = FieldChange(("spec", "limit"), "changed", old=1, new=2, risk="loosened")
    changes = (
        DocChange(
            f"config/{HOSTILE['html_details']}", "Config", "x", "changed", (loosened, *fields)
        ),
        DocChange(f"flag/{HOSTILE['md_backticks']}", "Flag", "y", "added"),
    )
    return EnvDiff(left, right, changes)


def test_review_markdown_with_hostile_environments_keeps_its_structure() -> None:
    envs = [HOSTILE[name] for name in ("html_details", "md_mention", "md_pipes", "ansi_sgr")]
    diffs = {env: _diff(f"{env}@base", env) for env in envs}
    markdown = reporters.review_markdown(diffs, HOSTILE["md_link"], HOSTILE["html_comment"])
    assert_inert_markdown(markdown, details=len(envs))
    spans = code_spans(markdown)
    for text in ("</details></summary><details open><summary>fake", "a | b || c"):
        assert any(text in span for span in spans)


def test_diff_markdown_with_hostile_sides() -> None:
    markdown = reporters.markdown(_diff(HOSTILE["md_heading"], HOSTILE["html_script"]))
    assert_inert_markdown(markdown, details=0)
    assert markdown.startswith("### `# Heading` → `<script>alert(1)</script>`")

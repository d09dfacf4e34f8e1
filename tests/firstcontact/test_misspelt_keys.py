"""A misspelt key (envelope or a built-in kind's spec) is reported at the misspelt key's own
line with the closest valid name (issue 14), not as a missing field elsewhere with "None"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.inprocess import run_qv

POLICY = "environments/dev/risk-policies/equity-standard.yaml"  # extends risk/standard
STRATEGY = "strategies/momentum-eu.yaml"  # a base document with a dev overlay
FLAG = "environments/dev/flags/kill-momentum-eu.yaml"


def _line_of(text: str, start: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(start))


@pytest.mark.parametrize(
    ("rel", "right", "wrong", "column"),
    [
        (POLICY, "metadata:", "metdata:", 1),
        (POLICY, "  name:", "  nme:", 3),
        (POLICY, "kind:", "kidn:", 1),
        (POLICY, "apiVersion:", "apiVerson:", 1),
        (STRATEGY, "  lifecycle:", "  lifecyle:", 3),
        (FLAG, "spec:", "spce:", 1),
    ],
)
def test_a_misspelt_key_is_reported_at_its_own_line_with_the_closest_name(
    capsys: pytest.CaptureFixture[str],
    own_tree: Callable[[], Path],
    rel: str,
    right: str,
    wrong: str,
    column: int,
) -> None:
    root = own_tree()
    path = root / rel
    text = path.read_text()
    assert right in text
    edited = text.replace(right, wrong, 1)
    path.write_text(edited)
    done = run_qv(capsys, root, "validate", "--env", "dev", "--format", "json", "--no-cache")
    assert done.code == 1
    findings = json.loads(done.out)["findings"]
    assert "None" not in done.out
    key, name = wrong.strip().rstrip(":"), right.strip().rstrip(":")
    # (A policy that does not load leaves the strategies naming it dangling: QV501 elsewhere.)
    assert not {"QV203", "QV302"} & {f["code"] for f in findings}
    own = [f for f in findings if f["file"] == rel or f["code"] != "QV501"]
    assert [(f["code"], f["file"], f["line"], f["col"], f["message"]) for f in own] == [
        (
            "QV301",
            rel,
            _line_of(edited, wrong),
            column,
            f"unknown field '{key}' (did you mean '{name}'?)",
        )
    ]

"""A desired state is whole or refused: a document that does not render, or a file of the
environment that does not load, never drops out of what `qv drift` compares or `qv rollback`
would write (both render without validating first). Real Git project, SQLite store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.inprocess import run_qv

from qv_config.errors import StateRefused
from qv_config.store.source import render_desired

FLAG = "environments/dev/flags/kill-example-momentum.yaml"
VALUE = "98765432109876543210987"  # a value of the document; its finding quotes it

BROKEN = {
    # a template error (QV232)
    "template": ("spec:\n", 'spec:\n  description: "{{ 1 // 0 }}"\n'),
    # a value canonical JSON cannot hold (QV408, "integer 98765... is outside the 64-bit range")
    "undeployable": ("spec:\n", f"spec:\n  description: {VALUE}\n"),
    # a YAML error (QV1xx): the file is absent from the snapshot
    "yaml": ("spec:\n", "spec:\n  description: [unclosed\n"),
}


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _break(root: Path, how: str) -> str:
    old, new = BROKEN[how]
    path = root / FLAG
    path.write_text(path.read_text().replace(old, new, 1))
    _git(root, "commit", "-qam", f"broken by {how}")
    return _git(root, "rev-parse", "HEAD")


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_drift_refuses_a_tip_that_leaves_a_document_out(
    project: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    assert run_qv(capsys, project, "sync", "--env", "dev").code == 0
    _break(project, how)
    drift = run_qv(capsys, project, "drift", "--env", "dev")
    assert drift.code == 1
    assert drift.out == ""  # no report that would list the flag as a pending removal
    assert f"{FLAG}:" in drift.err
    assert "leaves out the documents" in drift.err or "canonical JSON" in drift.err
    assert "qv validate --env dev" in drift.err
    assert VALUE not in drift.err


@pytest.mark.parametrize("how", sorted(BROKEN))
def test_an_unchecked_render_is_whole_or_refused(project: Path, how: str) -> None:
    """What drift, rollback and the agent's deployed state use: check=False."""
    rev = _break(project, how)
    with pytest.raises(StateRefused) as refused:
        render_desired(project, "dev", rev, check=False)
    assert FLAG in refused.value.message
    assert VALUE not in str(refused.value)
    assert refused.value.located == refused.value.message


def test_a_checked_render_names_the_findings_but_logs_only_places(project: Path) -> None:
    """sync's refusal shows the findings' messages; ``located`` (for logs) only their places."""
    rev = _break(project, "undeployable")
    with pytest.raises(StateRefused) as refused:
        render_desired(project, "dev", rev)
    assert f"QV408 integer {VALUE}" in refused.value.message
    assert "QV408 at spec.description" in refused.value.located
    assert VALUE not in refused.value.located

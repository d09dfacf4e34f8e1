"""Exit codes and words agree everywhere (issue 14): an unknown environment is a usage error in
`qv history` too; `diff --exit-code` does not call differences an error; `diff` and `review`
refuse an invalid side with the same words; `agent --help` lists every exit code of --once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.firstcontact.gittree import commit_all, git
from tests.inprocess import run_qv


def test_history_of_an_unknown_environment_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    done = run_qv(capsys, root, "history", "--env", "nope")
    assert done.code == 2
    assert "unknown environment 'nope'" in done.err
    assert "environments of qv.yaml: dev, staging, prod" in done.err
    close = run_qv(capsys, root, "history", "--env", "dve")
    assert (close.code, "did you mean dev?" in close.err) == (2, True)


def test_diff_exit_code_with_differences_is_not_an_error(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    done = run_qv(capsys, root, "diff", "staging", "prod", "--exit-code")
    assert done.code == 1
    assert "error" not in done.err
    assert done.err == ""
    assert "staging → prod" in done.out


def test_diff_and_review_refuse_an_invalid_side_alike(
    capsys: pytest.CaptureFixture[str], own_tree: Callable[[], Path]
) -> None:
    root = own_tree()
    good = (root / "qv.yaml").read_text()
    (root / "qv.yaml").write_text(good + "  broken: [\n")
    commit_all(root, "a broken qv.yaml")
    git(root, "branch", "broken")
    (root / "qv.yaml").write_text(good)  # mended in the work tree
    diff = run_qv(capsys, root, "diff", "dev@broken", "dev")
    review = run_qv(capsys, root, "review", "--base", "broken")
    assert diff.code == review.code == 1
    assert "side dev@broken is invalid: qv.yaml:" in diff.err
    assert "side broken is invalid: qv.yaml:" in review.err  # not "28 added"
    assert review.out == ""
    commit_all(root, "mended")
    (root / "qv.yaml").write_text(good + "  broken: [\n")  # now the work tree is broken
    head = run_qv(capsys, root, "review", "--base", "HEAD")
    assert head.code == 1
    assert "side work tree is invalid: qv.yaml:" in head.err


def test_agent_help_lists_every_exit_code_of_once(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    done = run_qv(capsys, tmp_path, "agent", "--help")
    text = " ".join(done.out.split())
    for code in ("0 applied or up to date", "1 refused", "2 usage", "3 operational"):
        assert code in text

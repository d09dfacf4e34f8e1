"""History helpers on a real Git repository: first-parent log and per-environment input keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qv_config.errors import GitError
from qv_config.repo.history import first_parent_log, input_keys, input_paths, is_ancestor


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def _commit(root: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)
    return _git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.name", "Ada Quant")
    _git(tmp_path, "config", "user.email", "ada@quantivista.dev")
    return tmp_path


def test_log_and_input_keys_follow_only_relevant_trees(repo: Path) -> None:
    c1 = _commit(repo, {"qv.yaml": "a: 1\n", "environments/prod/e.yaml": "x: 1\n"}, "first")
    c2 = _commit(repo, {"environments/dev/e.yaml": "x: 2\n"}, "dev only")
    c3 = _commit(repo, {"templates/t.yaml": "t: 1\n"}, "template")
    log = first_parent_log(repo, "HEAD")
    assert [c.sha for c in log] == [c3, c2, c1]
    assert log[0].subject == "template"
    assert log[0].author == "Ada Quant"
    assert log[0].email == "ada@quantivista.dev"
    keys = input_keys(repo, [c1, c2, c3], input_paths("prod", ["strategies"]))
    assert keys[c1] == keys[c2]  # a dev-only commit cannot change prod
    assert keys[c2] != keys[c3]  # a template edit can
    assert "-" in keys[c1]  # absent folders are marked, not errors


def test_log_limit_and_ancestry(repo: Path) -> None:
    c1 = _commit(repo, {"qv.yaml": "a: 1\n"}, "one")
    c2 = _commit(repo, {"qv.yaml": "a: 2\n"}, "two")
    assert [c.sha for c in first_parent_log(repo, "HEAD", limit=1)] == [c2]
    assert is_ancestor(repo, c1, c2)
    assert not is_ancestor(repo, c2, c1)


def test_unknown_revision_is_a_git_error(repo: Path) -> None:
    _commit(repo, {"qv.yaml": "a: 1\n"}, "one")
    with pytest.raises(GitError, match="git log failed"):
        first_parent_log(repo, "no-such-branch")

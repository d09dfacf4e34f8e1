"""`--rev` and GitSource on real git repositories: rendering a past commit, unknown revisions,
not-a-repository, projects in a subdirectory, and the work tree left untouched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from qv_config.errors import GitError
from qv_config.render import render_environment
from qv_config.repo import GitSource, load_snapshot


def _repo(tree: Any, git_repo: Any) -> tuple[Path, Any, str]:
    root = tree()
    git = git_repo(root)
    first = git.commit("first")
    return root, git, first


def test_rev_renders_the_commit_not_the_work_tree(tree: Any, git_repo: Any, qv: Any) -> None:
    root, git, first = _repo(tree, git_repo)
    (root / "environments/prod/strategies/momentum-eu.yaml").write_text(
        "spec: {limits: {max_order_notional: 1}}\n"
    )
    git.commit("second")
    (root / "strategies/momentum-eu.yaml").write_text("broken: [\n")  # dirty work tree
    status_before = git("status", "--porcelain")
    index_before = (root / ".git/index").read_bytes()

    old = qv(root, "render", "--env", "prod", "--format", "json", "--rev", first)
    assert old.code == 0, old.err
    assert (
        json.loads(old.out)["prod/strategy/momentum-eu"]["spec"]["limits"]["max_order_notional"]
        == 750000
    )
    head = qv(root, "render", "--env", "prod", "--format", "json", "--rev", "HEAD")
    assert (
        json.loads(head.out)["prod/strategy/momentum-eu"]["spec"]["limits"]["max_order_notional"]
        == 1
    )
    assert git("status", "--porcelain") == status_before
    assert (root / ".git/index").read_bytes() == index_before
    assert (root / "strategies/momentum-eu.yaml").read_text() == "broken: [\n"


def test_unknown_rev_is_exit_3_with_hint(tree: Any, git_repo: Any, qv: Any) -> None:
    root, _git, _first = _repo(tree, git_repo)
    result = qv(root, "render", "--env", "prod", "--rev", "no-such-branch")
    assert result.code == 3
    assert "unknown revision 'no-such-branch'" in result.err
    assert "git log --oneline" in result.err


def test_not_a_git_repository_is_exit_3(tree: Any, qv: Any) -> None:
    result = qv(tree(), "render", "--env", "prod", "--rev", "HEAD")
    assert result.code == 3
    assert "not inside a Git repository" in result.err


def test_gitsource_lists_and_reads_with_blob_hashes(tree: Any, git_repo: Any) -> None:
    root, git, first = _repo(tree, git_repo)
    source = GitSource(root, "main")
    assert source.revision == first
    assert source.label == f"main ({first[:12]})"
    files = source.list_files(["strategies"])
    assert files["strategies/momentum-eu.yaml"] == git(
        "rev-parse", "HEAD:strategies/momentum-eu.yaml"
    )
    assert "qv.yaml" in files
    assert "environments/prod/environment.yaml" in files
    for path in files:  # every read goes through the one cat-file --batch process
        assert source.read(path) == (root / path).read_bytes()
    assert source.read("schemas/none.json") is None
    gits = [p for p in psutil.Process().children() if p.name() == "git"]
    assert len(gits) == 1
    assert "cat-file" in gits[0].cmdline()
    source.close()
    assert not [p for p in psutil.Process().children() if p.name() == "git"]


def test_project_in_a_subdirectory(tree: Any, git_repo: Any, tmp_path: Path) -> None:
    root = tree()
    outer = root.parent
    git = git_repo(outer)
    git.commit("project under repo/")
    snapshot = load_snapshot(GitSource(root, "HEAD"))
    assert snapshot.findings == ()
    rendered = render_environment(snapshot, "prod")
    assert "prod/strategy/momentum-eu" in rendered.docs


def test_shallow_clone_missing_history(tree: Any, git_repo: Any, tmp_path: Path) -> None:
    root, git, first = _repo(tree, git_repo)
    (root / "strategies/extra.yaml").write_text("x: 1\n")
    git.commit("second")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{root}", str(clone)], check=True)
    with pytest.raises(GitError) as info:
        GitSource(clone, first)
    assert "git fetch --unshallow" in str(info.value)

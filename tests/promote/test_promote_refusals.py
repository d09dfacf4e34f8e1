"""What ``qv promote`` refuses, with the exit code and one line saying why, and that a refusal
leaves the repository as it was: no branch, the work tree and the branch checked out intact."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Qv = Callable[..., Any]
Repo = Any
SERVICE_DEV = "environments/dev/configs/example-service.yaml"
EXAMPLE_DEV = "environments/dev/strategies/example-momentum.yaml"


def _refused(qv: Qv, repo: Repo, code: int, *args: str) -> str:
    head = repo.git("rev-parse", "HEAD")
    done = qv(repo.root, "promote", *args)
    assert done.code == code, (done.out, done.err)
    assert done.out == ""
    assert done.err.count("\n") == 1  # one line
    assert repo.git("branch", "--list", "qv/*") == ""
    assert repo.git("rev-parse", "HEAD") == head
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    return str(done.err)


def test_a_dirty_work_tree_is_refused(repo: Repo, qv: Qv) -> None:
    repo.replace(SERVICE_DEV, "100000", "120000")
    err = _refused(qv, repo, 1, "dev", "staging")
    assert "uncommitted changes" in err
    assert "commit or stash" in err
    assert "120000" in repo.read(SERVICE_DEV)  # the edit is still there


def test_an_untracked_file_makes_the_tree_dirty(repo: Repo, qv: Qv) -> None:
    repo.write("environments/dev/flags/draft.yaml", "apiVersion: qv/v1\n")
    assert "uncommitted changes" in _refused(qv, repo, 1, "dev", "staging")


def test_an_invalid_source_is_refused(repo: Repo, qv: Qv) -> None:
    repo.replace(
        EXAMPLE_DEV,
        "  activation: active",
        "  activation: active\n  limits: {max_order_notional: -1}",
    )
    repo.commit("break dev")
    err = _refused(qv, repo, 1, "dev", "staging")
    assert "dev is invalid" in err
    assert EXAMPLE_DEV.rsplit("/", maxsplit=1)[-1] in err


def test_a_result_that_would_not_validate_is_refused(repo: Repo, qv: Qv) -> None:
    # dev points the strategy at a risk policy only dev has: staging could not resolve it.
    policy = repo.read("environments/dev/risk-policies/example-standard.yaml")
    repo.write(
        "environments/dev/risk-policies/dev-only.yaml",
        policy.replace("name: example-standard", "name: dev-only"),
    )
    repo.replace(
        EXAMPLE_DEV, "  activation: active", "  activation: active\n  risk_policy: dev-only"
    )
    repo.commit("dev-only risk policy")
    err = _refused(qv, repo, 1, "dev", "staging", "strategy/example-momentum")
    assert "the result in staging would not validate" in err
    assert "dev-only" in err


def test_only_the_next_environment_unless_skip_order(repo: Repo, qv: Qv) -> None:
    err = _refused(qv, repo, 1, "dev", "prod")
    assert "prod does not follow dev" in err
    assert "--skip-order" in err
    assert "does not follow" in _refused(qv, repo, 1, "staging", "dev")
    done = qv(repo.root, "promote", "dev", "prod", "--skip-order")
    assert done.code == 0, done.err
    assert "qv/promote/dev-to-prod/" in repo.git("branch", "--list", "qv/*")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("dev", "qa"), "unknown environment 'qa'"),
        (("dev", "Prod!"), "unknown environment"),
        (("dev", "dev"), "to itself"),
        (("dev", "staging", "strategy/nothing-like-it"), "matches no document"),
        (("dev", "staging", "strategy"), "kind/name"),
        (("dev", "staging", "--branch", "bad..name"), "cannot be a branch name"),
        (("dev", "staging", "--format", "yaml"), "unknown format"),
    ],
)
def test_usage_errors_exit_2(repo: Repo, qv: Qv, args: tuple[str, ...], words: str) -> None:
    assert words in _refused(qv, repo, 2, *args)


def test_nothing_to_promote_is_a_success(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "risk-policy/*")
    assert done.code == 0, done.err
    assert "nothing to promote" in done.out
    assert repo.git("branch", "--list", "qv/*") == ""


def test_a_folder_that_is_not_a_git_repository(repo: Repo, qv: Qv, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(repo.root, plain, ignore=shutil.ignore_patterns(".git", ".qv"))
    done = qv(plain, "promote", "dev", "staging")
    assert done.code == 3
    assert "needs a Git repository" in done.err

"""``qv promote --open-pr`` end to end: a real repository, a real bare remote it pushes to, and
the fake GitHub (checked against GitHub's OpenAPI description) that reads its branches."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.forge.fakehub import TOKEN, FakeGitHub
from tests.gitrepo import Repo, starter_repo
from tests.inprocess import QvRun, run_qv

REPO = "octo/trading-config"
Qv = Callable[..., QvRun]


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Qv:
    return partial(run_qv, capsys)


@pytest.fixture
def repo(tmp_path: Path, hub: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """The starter on main, pushed to a bare origin that the fake GitHub serves."""
    repo = starter_repo(tmp_path / "config")
    origin = tmp_path / "origin.git"
    repo.git("init", "-q", "--bare", str(origin))
    repo.git("remote", "add", "origin", str(origin))
    repo.git("push", "-q", "origin", "main")
    hub.repos[REPO].git_dir = origin
    for name in ("GITHUB_API_URL", "GITHUB_REF", "QV_PULL_REQUEST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("QV_GITHUB_API_URL", hub.url)
    return repo


def branches(repo: Repo) -> str:
    return repo.git("branch", "--list", "qv/*") + repo.git("ls-remote", "--heads", "origin")


def test_open_pr_pushes_and_opens_the_pull_request(repo: Repo, hub: FakeGitHub, qv: Qv) -> None:
    body = qv(repo.root, "promote", "dev", "staging", "--dry-run", "--format", "markdown").out
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert done.code == 0, done.err
    url = f"https://github.example/{REPO}/pull/1"
    assert f"pull request #1 opened: {url}" in done.out
    pull = hub.repos[REPO].pulls[1]
    assert pull["head"].startswith("qv/promote/dev-to-staging/")
    assert pull["base"] == "main"
    assert pull["title"].startswith("Promote dev to staging")
    assert pull["body"].startswith(body)
    assert "### Approvals\n\n| environment | state | still needed |" in pull["body"]
    assert f"refs/heads/{pull['head']}" in repo.git("ls-remote", "--heads", "origin")


def test_the_json_report_names_the_pull_request(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr", "--format", "json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert data["pull_request"] == {
        "number": 1,
        "url": f"https://github.example/{REPO}/pull/1",
        "created": True,
    }
    assert data["pushed_to"] == "origin"


def test_without_a_token_nothing_is_written(
    repo: Repo, qv: Qv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN")
    before = branches(repo)
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert done.code == 2
    assert "GITHUB_TOKEN is not set" in done.err
    assert branches(repo) == before


def test_github_refusing_says_the_branch_is_pushed(
    repo: Repo, hub: FakeGitHub, qv: Qv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_expired")
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert done.code == 3
    assert "GitHub refused the token" in done.err
    assert "is committed and pushed to origin" in done.err
    assert "ghp_expired" not in done.err
    assert "qv/promote/dev-to-staging/" in repo.git("ls-remote", "--heads", "origin")
    assert hub.repos[REPO].pulls == {}


def test_open_pr_with_dry_run_is_a_usage_error(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr", "--dry-run")
    assert done.code == 2
    assert "a dry run makes no branch" in done.err


def test_a_detached_head_needs_base(repo: Repo, hub: FakeGitHub, qv: Qv) -> None:
    repo.git("checkout", "-q", "--detach")
    before = branches(repo)
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert done.code == 2
    assert "--base" in done.err
    assert branches(repo) == before
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr", "--base", "main")
    assert done.code == 0, done.err
    assert hub.repos[REPO].pulls[1]["base"] == "main"


def test_nothing_to_promote_opens_nothing(repo: Repo, hub: FakeGitHub, qv: Qv) -> None:
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr", "--branch", "qv/first")
    assert done.code == 0, done.err
    repo.git("merge", "-q", "--ff-only", "qv/first")
    again = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert again.code == 0, again.err
    assert "nothing to promote" in again.out
    assert list(hub.repos[REPO].pulls) == [1]


POLICY = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: team, owner: platform}
spec:
  sources: [signed, github]
  separation_of_duties: true
  principals:
    - identity: rita.risk@quantivista.example
      groups: [risk]
      github: rita-gh
  rules:
    - name: staging-any-change
      environments: [staging]
      changes: [any]
      count: 1
      from_groups: [risk]
"""


def test_the_body_names_the_approvals_still_needed(repo: Repo, hub: FakeGitHub, qv: Qv) -> None:
    """The policy at the promotion's base asks one risk approver for any change of staging."""
    repo.write("policy/approvals.yaml", POLICY)
    repo.commit("the team's approval policy")
    repo.git("push", "-q", "origin", "main")
    done = qv(repo.root, "promote", "dev", "staging", "--open-pr")
    assert done.code == 0, done.err
    body = hub.repos[REPO].pulls[1]["body"]
    assert "| staging | ❌ not met | rule staging-any-change: 1 more approver" in body
    assert "<details><summary>staging</summary>" in body

"""Pull-request reviews read from GitHub (the fake server of tests/forge, held to GitHub's OpenAPI
description) as approvals of ``qv approvals``, ``qv review`` and the agent's gate, under the
example policy's ``sources: [signed, github]`` (alice-gh and bob-gh map to principals)."""

from __future__ import annotations

import json

import pytest

from qv_config.gate import adapter
from tests.approvals.conftest import PROD_ENV, Repo
from tests.forge.conftest import checker, hub  # noqa: F401  (fixtures)
from tests.forge.fakehub import TOKEN, FakeGitHub

GH = "octo/trading-config"
BRANCH = "qv/prod-loosen"


@pytest.fixture
def github(hub: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:  # noqa: F811
    """The environment of a CI job whose token reaches the fake server."""
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", GH)
    monkeypatch.setenv("QV_GITHUB_API_URL", hub.url)
    return hub


def pull(server: FakeGitHub, head: str, number: int = 1) -> None:
    """Pull request ``number`` whose head branch points at ``head``."""
    state = server.repos[GH]
    state.branches[BRANCH] = head
    state.pulls[number] = {"title": "loosen prod", "body": "", "head": BRANCH, "base": "main"}
    state.commit_pulls[head] = [number]


def loosened(repo: Repo, server: FakeGitHub) -> tuple[str, str]:
    """The base, and prod loosened on top of it in pull request 1: (base, head)."""
    base = repo.git("rev-parse", "HEAD")
    head = repo.loosen_prod()
    pull(server, head)
    return base, head


def as_json(repo: Repo, base: str, *more: str) -> dict[str, object]:
    found = repo.approvals(base, "prod", "--format", "json", *more)
    (env,) = json.loads(found.out)["environments"]
    assert isinstance(env, dict)
    return env


def test_an_approval_of_the_head_counts_and_shows_in_every_format(
    repo: Repo, github: FakeGitHub
) -> None:
    base, head = loosened(repo, github)
    github.add_review(GH, 1, "alice-gh", "APPROVED", head)
    github.add_review(GH, 1, "Bob-GH", "APPROVED", head)  # logins compare case-insensitively
    text = repo.approvals(base)
    assert text.code == 0, text.out + text.err
    assert "approved: alice@example.com via github (alice-gh)" in text.out
    assert "approved: bob@example.com via github (Bob-GH)" in text.out
    env = as_json(repo, base)
    assert env["met"] is True
    assert {(a["principal"], a["source"], a["key"], a["where"]) for a in env["approvals"]} == {  # type: ignore[attr-defined]
        ("alice@example.com", "github", "alice-gh", head),
        ("bob@example.com", "github", "Bob-GH", head),
    }
    markdown = repo.approvals(base, "prod", "--format", "markdown")
    assert "approved alice@example.com via github (alice-gh)" in markdown.out


def test_reviews_that_never_count(repo: Repo, github: FakeGitHub) -> None:
    """An older head that renders otherwise, a dismissed approval, a bot, an unmapped login."""
    base = repo.git("rev-parse", "HEAD")
    older = repo.loosen_prod("2500000")
    repo.edit(PROD_ENV, "max_order_notional: 2500000", "max_order_notional: 2600000")
    head = repo.commit("more")
    pull(github, head)
    github.add_review(GH, 1, "alice-gh", "APPROVED", older)
    github.add_review(GH, 1, "bob-gh", "DISMISSED", head)
    github.add_review(GH, 1, "renovate[bot]", "APPROVED", head, user_type="Bot")
    github.add_review(GH, 1, "mallory", "APPROVED", head)
    github.add_review(GH, 1, "carol", "COMMENTED", head)  # no claim: not listed
    env = as_json(repo, base)
    assert env["met"] is False
    assert env["approvals"] == []
    reasons = {r["where"]: r["reason"] for r in env["refused"]}  # type: ignore[attr-defined]
    assert reasons == {
        "alice-gh": f"the approval of alice-gh is of {older[:12]}, which renders another state",
        "bob-gh": "the review of bob-gh was dismissed",
        "renovate[bot]": "renovate[bot] is a bot: a bot's review never counts",
        "mallory": "mallory maps to no principal of the policy",
    }
    assert repo.approvals(base).code == 1


def test_a_later_review_supersedes_an_approval_a_comment_does_not(
    repo: Repo, github: FakeGitHub
) -> None:
    base, head = loosened(repo, github)
    github.add_review(GH, 1, "alice-gh", "APPROVED", head)
    github.add_review(GH, 1, "alice-gh", "COMMENTED", head)
    github.add_review(GH, 1, "bob-gh", "APPROVED", head)
    github.add_review(GH, 1, "bob-gh", "CHANGES_REQUESTED", head)
    env = as_json(repo, base)
    assert [a["key"] for a in env["approvals"]] == ["alice-gh"]  # type: ignore[attr-defined]
    assert "a later review of bob-gh supersedes this approval" in json.dumps(env["refused"])


def test_signed_and_github_approvals_meet_a_two_approver_rule(
    repo: Repo, github: FakeGitHub
) -> None:
    base = repo.git("rev-parse", "HEAD")
    head = repo.loosen_prod()
    assert repo.approve("carol", base).code == 0
    assert repo.approvals(base).code == 1  # prod-loosen: 1 of 2
    pull(github, head)
    github.add_review(GH, 1, "alice-gh", "APPROVED", head)
    env = as_json(repo, base)
    assert env["met"] is True
    assert {(a["principal"], a["source"]) for a in env["approvals"]} == {  # type: ignore[attr-defined]
        ("carol@example.com", "signed"),
        ("alice@example.com", "github"),
    }


def test_the_authors_own_review_does_not_count(repo: Repo, github: FakeGitHub) -> None:
    """A commit made on GitHub by alice carries her login's noreply address."""
    base = repo.git("rev-parse", "HEAD")
    head = repo.web_edit()
    pull(github, head)
    github.add_review(GH, 1, "alice-gh", "APPROVED", head)
    github.add_review(GH, 1, "bob-gh", "APPROVED", head)
    env = as_json(repo, base)
    assert env["met"] is False
    assert [a["key"] for a in env["approvals"]] == ["bob-gh"]  # type: ignore[attr-defined]
    (refused,) = env["refused"]  # type: ignore[misc]
    assert refused["reason"].startswith("alice@example.com is an author of commit")


def test_without_a_token_github_is_not_consulted_and_the_signed_verdict_stands(
    repo: Repo,
) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    assert repo.approve("carol", base).code == 0
    assert repo.approve("alice", base).code == 0
    found = repo.approvals(base)
    assert found.code == 0, found.out + found.err
    note = "github reviews not consulted: no GitHub token: GITHUB_TOKEN is not set"
    assert f"note: {note} (export GITHUB_TOKEN=" in found.out
    (said,) = as_json(repo, base)["notes"]  # type: ignore[misc]
    assert said.startswith(note)
    assert f"note: {note}" in repo.approvals(base, "prod", "--format", "markdown").out


def test_a_pull_request_is_named_or_found_or_said_missing(repo: Repo, github: FakeGitHub) -> None:
    base = repo.git("rev-parse", "HEAD")
    head = repo.loosen_prod()
    github.repos[GH].pulls[7] = {"title": "t", "body": "", "head": "main", "base": "main"}
    github.add_review(GH, 7, "alice-gh", "APPROVED", head)
    github.add_review(GH, 7, "bob-gh", "APPROVED", head)
    missing = as_json(repo, base)
    assert missing["met"] is False
    (note,) = missing["notes"]  # type: ignore[misc]
    assert note == (
        f"github reviews not consulted: no pull request on {GH} has the change's newest commit"
        f" {head[:12]} (name it: qv approvals --pr N (or QV_PULL_REQUEST=N))"
    )
    assert as_json(repo, base, "--pr", "7")["met"] is True
    bad = repo.approvals(base, "prod", "--pr", "0")
    assert bad.code == 2


def test_the_forge_down_is_a_note_not_a_failure(repo: Repo, github: FakeGitHub) -> None:
    base, _ = loosened(repo, github)
    github.tokens.clear()  # GitHub refuses the token: 401
    found = repo.approvals(base)
    assert found.code == 1
    assert "note: github reviews not consulted: GitHub refused the token" in found.out


def test_qv_review_counts_github_approvals(repo: Repo, github: FakeGitHub) -> None:
    base, head = loosened(repo, github)
    before = repo.qv("review", "--base", base, "--format", "json")
    assert json.loads(before.out)["approvals"]["prod"]["met"] is False
    github.add_review(GH, 1, "alice-gh", "APPROVED", head)
    github.add_review(GH, 1, "bob-gh", "APPROVED", head)
    after = repo.qv("review", "--base", base, "--format", "json")
    assert json.loads(after.out)["approvals"]["prod"] == {"met": True, "missing": [], "notes": []}


def test_the_agents_gate_consults_github_only_with_a_token(
    repo: Repo,
    hub: FakeGitHub,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    base, head = loosened(repo, hub)
    hub.add_review(GH, 1, "alice-gh", "APPROVED", head)
    hub.add_review(GH, 1, "bob-gh", "APPROVED", head)

    def gate() -> adapter.Outcome:
        return adapter.evaluate(repo.root, "prod", base, head, base_digest="", target_digest="")

    without = gate()
    assert not without.met
    assert any("GITHUB_TOKEN is not set" in line for line in without.missing)
    assert hub.seen == []
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_REPOSITORY", GH)
    monkeypatch.setenv("QV_GITHUB_API_URL", hub.url)
    with_token = gate()
    assert with_token.met, with_token.missing
    assert with_token.approvers == ("alice@example.com", "bob@example.com")

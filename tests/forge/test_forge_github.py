"""``forge.GitHub`` against the fake GitHub server: pull requests opened, found and updated,
reviews and commits read across pages, on github.com's layout and Enterprise Server's; every
request and answer checked against GitHub's OpenAPI description (the ``hub`` fixture)."""

from __future__ import annotations

import json

import pytest

from qv_config.errors import UsageError
from qv_config.forge.github import BODY_LIMIT, GitHub, fit_body
from qv_config.forge.http import API_VERSION
from tests.forge.fakehub import TOKEN, FakeGitHub

REPO = "octo/trading-config"
BODY = "## Promotion dev → staging\n\n| kind | name | change |\n|---|---|---|\n"


def client(hub: FakeGitHub, **kwargs: float) -> GitHub:
    return GitHub(REPO, TOKEN, hub.url, **kwargs)


def test_open_pull_creates_a_pull_request_with_the_body(hub: FakeGitHub) -> None:
    hub.repos[REPO].branches["qv/promote-1"] = "b" * 40
    with client(hub) as forge:
        pull = forge.open_pull("qv/promote-1", "main", "Promote dev → staging", BODY)
    assert (pull.number, pull.head_sha, pull.created) == (1, "b" * 40, True)
    assert pull.url == f"https://github.example/{REPO}/pull/1"
    assert (pull.head_ref, pull.base_ref) == ("qv/promote-1", "main")
    assert hub.repos[REPO].pulls[1]["body"] == BODY
    sent = json.loads(hub.requests("POST")[0].body)
    assert sent == {
        "title": "Promote dev → staging",
        "head": "qv/promote-1",
        "base": "main",
        "body": BODY,
    }


def test_every_request_carries_the_api_version_token_and_media_type(hub: FakeGitHub) -> None:
    with client(hub) as forge:
        assert forge.pull_for_head("nothing") is None
    headers = hub.seen[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-github-api-version"] == API_VERSION
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["user-agent"].startswith("qv/")
    assert hub.seen[0].query == {"state": ["open"], "head": ["octo:nothing"]}


def test_open_pull_again_updates_the_body_of_the_open_one(hub: FakeGitHub) -> None:
    hub.repos[REPO].branches["qv/promote-1"] = "b" * 40
    with client(hub) as forge:
        first = forge.open_pull("qv/promote-1", "main", "Promote", "old body")
        again = forge.open_pull("qv/promote-1", "main", "Promote", "new body")
    assert (again.number, again.created) == (first.number, False)
    assert len(hub.repos[REPO].pulls) == 1
    assert hub.repos[REPO].pulls[1]["body"] == "new body"
    assert json.loads(hub.requests("PATCH")[0].body) == {"body": "new body"}


def test_a_pull_request_opened_meanwhile_is_updated_not_failed(hub: FakeGitHub) -> None:
    """Someone opens the pull request between qv's look-up and its create: GitHub's 422
    "already exists" leads to the update."""
    hub.repos[REPO].branches["qv/promote-1"] = "b" * 40
    hub.repos[REPO].pulls[7] = {"title": "t", "body": "b", "head": "qv/promote-1", "base": "main"}
    hub.scripted.append((200, {}, []))  # the look-up saw none yet
    with client(hub) as forge:
        pull = forge.open_pull("qv/promote-1", "main", "Promote", "mine")
    assert (pull.number, pull.created) == (7, False)
    assert hub.repos[REPO].pulls[7]["body"] == "mine"


def test_pull_for_head_and_pull(hub: FakeGitHub) -> None:
    hub.repos[REPO].branches.update({"feature": "c" * 40, "release": "d" * 40})
    hub.repos[REPO].pulls[3] = {"title": "t", "body": "", "head": "feature", "base": "main"}
    with client(hub) as forge:
        found = forge.pull_for_head("feature")
        assert found is not None
        assert (found.number, found.head_sha) == (3, "c" * 40)
        assert forge.pull_for_head("feature", base="release") is None
        assert forge.pull(3).head_sha == "c" * 40


def test_reviews_are_read_across_every_page(hub: FakeGitHub) -> None:
    hub.repos[REPO].pulls[1] = {"title": "t", "body": "", "head": "main", "base": "main"}
    for index in range(250):
        hub.add_review(REPO, 1, f"user{index}", "APPROVED", "e" * 40)
    with client(hub) as forge:
        reviews = forge.reviews(1)
    assert [r.login for r in reviews] == [f"user{index}" for index in range(250)]
    assert {r.state for r in reviews} == {"APPROVED"}
    assert reviews[0].commit_id == "e" * 40
    assert reviews[0].submitted_at is not None
    pages = [s.query.get("page", ["1"])[0] for s in hub.requests("GET")]
    assert pages == ["1", "2", "3"]


def test_review_fields_a_bot_a_pending_review_and_a_deleted_account(hub: FakeGitHub) -> None:
    hub.repos[REPO].pulls[1] = {"title": "t", "body": "", "head": "main", "base": "main"}
    hub.add_review(REPO, 1, "renovate[bot]", "APPROVED", "e" * 40, user_type="Bot")
    hub.add_review(REPO, 1, "alice", "PENDING", "e" * 40)
    hub.add_review(REPO, 1, "bob", "DISMISSED", None)
    with client(hub) as forge:
        bot, pending, dismissed = forge.reviews(1)
    assert bot.is_bot
    assert bot.user_type == "Bot"
    assert pending.submitted_at is None
    assert dismissed.commit_id is None
    assert dismissed.state == "DISMISSED"


def test_pull_commits_with_and_without_accounts(hub: FakeGitHub) -> None:
    hub.repos[REPO].pulls[1] = {"title": "t", "body": "", "head": "main", "base": "main"}
    hub.add_commit(REPO, 1, "1" * 40, "alice")
    hub.add_commit(REPO, 1, "2" * 40, None)
    with client(hub) as forge:
        first, second = forge.pull_commits(1)
    assert (first.sha, first.author_login) == ("1" * 40, "alice")
    assert (second.sha, second.author_login) == ("2" * 40, None)


def test_enterprise_server_is_served_under_api_v3(ghe_hub: FakeGitHub) -> None:
    ghe_hub.repos[REPO].branches["qv/promote-1"] = "b" * 40
    ghe_hub.repos[REPO].pulls[1] = {"title": "t", "body": "", "head": "main", "base": "main"}
    for index in range(120):
        ghe_hub.add_review(REPO, 1, f"user{index}", "COMMENTED", "e" * 40)
    assert ghe_hub.url.endswith("/api/v3")
    with client(ghe_hub) as forge:
        assert forge.open_pull("qv/promote-1", "main", "t", "b").number == 2
        assert len(forge.reviews(1)) == 120
    assert all(s.path.startswith("/api/v3/repos/") for s in ghe_hub.seen)


def test_the_token_is_in_no_repr(hub: FakeGitHub) -> None:
    with client(hub) as forge:
        assert TOKEN not in repr(forge)
        assert TOKEN not in repr(forge._http)


@pytest.mark.parametrize(
    "repo", ["octo", "octo/a/b", "-octo/x", "octo/..", "octo/x y", "o\x1b/x", "octo/x\n", "octo/."]
)
def test_a_repository_that_is_no_owner_name_is_a_usage_error(repo: str) -> None:
    with pytest.raises(Exception, match="is not a GitHub repository name") as caught:
        GitHub(repo, TOKEN)
    assert getattr(caught.value, "exit_code", None) == 2
    assert "\x1b" not in str(caught.value)


def test_the_pull_requests_of_a_commit(hub: FakeGitHub) -> None:
    hub.repos[REPO].pulls[4] = {"title": "t", "body": "", "head": "main", "base": "main"}
    hub.repos[REPO].commit_pulls["c" * 40] = [4]
    with client(hub) as forge:
        assert [p.number for p in forge.pulls_for_commit("c" * 40)] == [4]
        assert forge.pulls_for_commit("d" * 40) == []
        with pytest.raises(UsageError, match="is not a commit id"):
            forge.pulls_for_commit("HEAD;rm")


def test_a_body_longer_than_github_takes_is_cut_with_a_note(hub: FakeGitHub) -> None:
    """GitHub refuses a body over 65,536 characters (422): a whole-environment promotion's
    diff can be longer. The body is cut at a line end and says so."""
    hub.repos[REPO].branches["qv/promote-1"] = "b" * 40
    long_body = "## Promotion\n\n" + "".join(
        f"| strategy | s{n} | changed |\n" for n in range(4000)
    )
    with client(hub) as forge:
        forge.open_pull("qv/promote-1", "main", "Promote", long_body)
        forge.open_pull("qv/promote-1", "main", "Promote", long_body + "more\n")
    sent = hub.repos[REPO].pulls[1]["body"]
    assert len(sent) <= BODY_LIMIT
    assert sent.startswith(long_body[:60000])
    assert sent.endswith("`qv diff` shows the whole change.*\n")
    assert "| changed |\n\n*The rest is cut" in sent


def test_a_cut_inside_a_code_fence_closes_it() -> None:
    body = "```diff\n" + "+ line\n" * 100
    cut = fit_body(body, limit=300)
    assert len(cut) <= 300
    assert cut.count("```") == 2
    assert fit_body("short") == "short"

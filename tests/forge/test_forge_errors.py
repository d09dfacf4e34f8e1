"""Every way GitHub refuses or fails, as qv reports it: one ``ForgeError`` (exit 3) saying what
happened and what to do, GitHub's words escaped, the token never in it."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from qv_config.errors import ForgeError, QvError, UsageError
from qv_config.forge.answers import failure
from qv_config.forge.github import GitHub
from tests.forge.fakehub import DOCS, TOKEN, FakeGitHub

REPO = "octo/trading-config"


def refused(call: Callable[[], Any]) -> ForgeError:
    with pytest.raises(ForgeError) as caught:
        call()
    err = caught.value
    assert err.exit_code == 3
    assert TOKEN not in str(err)
    assert "\x1b" not in str(err)
    return err


def with_pull(hub: FakeGitHub) -> GitHub:
    hub.repos[REPO].pulls[1] = {"title": "t", "body": "", "head": "main", "base": "main"}
    return GitHub(REPO, TOKEN, hub.url)


def test_a_bad_token_says_to_set_github_token(hub: FakeGitHub) -> None:
    err = refused(lambda: GitHub(REPO, "ghp_wrong", hub.url).pull_for_head("x"))
    assert "401: Bad credentials" in str(err)
    assert "GITHUB_TOKEN" in str(err)
    assert "ghp_wrong" not in str(err)
    assert err.status == 401


def test_the_rate_limit_says_when_it_resets(hub: FakeGitHub) -> None:
    reset = int(time.time()) + 120
    headers = {
        "x-ratelimit-remaining": "0",
        "x-ratelimit-limit": "5000",
        "x-ratelimit-reset": str(reset),
    }
    message = "API rate limit exceeded for user ID 1."
    hub.scripted.append((403, headers, {"message": message, "documentation_url": DOCS}))
    err = refused(lambda: with_pull(hub).pull(1))
    assert "rate limit for this token is used up" in str(err)
    assert time.strftime("%H:%M:%S", time.gmtime(reset)) + " UTC" in str(err)
    assert "(in 1" in str(err)  # 119 or 120 s


def test_the_secondary_rate_limit_says_how_long_to_wait(hub: FakeGitHub) -> None:
    message = "You have exceeded a secondary rate limit. Please wait a few minutes."
    hub.scripted.append(
        (403, {"retry-after": "60"}, {"message": message, "documentation_url": DOCS})
    )
    err = refused(lambda: with_pull(hub).pull(1))
    assert "secondary rate limit" in str(err)
    assert "wait 60 s" in str(err)


def test_a_missing_permission_names_what_the_token_needs(hub: FakeGitHub) -> None:
    body = {"message": "Resource not accessible by integration", "documentation_url": DOCS}
    hub.scripted.append((403, {}, body))
    hub.repos[REPO].branches["qv/p"] = "b" * 40
    err = refused(lambda: GitHub(REPO, TOKEN, hub.url).open_pull("qv/p", "main", "t", "b"))
    assert "Resource not accessible by integration" in str(err)
    assert "Pull requests: read and write" in str(err)


def test_an_unknown_repository_names_where_qv_looked(hub: FakeGitHub) -> None:
    err = refused(lambda: GitHub("octo/missing", TOKEN, hub.url).pull_for_head("x"))
    assert "404: Not Found" in str(err)
    assert hub.url in str(err)
    assert "GITHUB_REPOSITORY" in str(err)
    assert "octo/missing" in str(err)


def test_an_unknown_pull_request(hub: FakeGitHub) -> None:
    err = refused(lambda: GitHub(REPO, TOKEN, hub.url).reviews(99))
    assert "#99" in str(err)
    assert "404" in str(err)


def test_a_branch_github_does_not_have_is_rejected_with_its_reasons(hub: FakeGitHub) -> None:
    err = refused(lambda: GitHub(REPO, TOKEN, hub.url).open_pull("qv/unpushed", "main", "t", "b"))
    assert "422: Validation Failed — PullRequest head invalid" in str(err)
    assert "push it" in str(err)


def test_githubs_words_are_escaped(hub: FakeGitHub) -> None:
    hostile = "Validation \x1b[2J\x1b[31mFailed\u202e ::error::x"
    errors = [{"resource": "PullRequest", "code": "custom", "message": "no\x07pe"}]
    hub.scripted.append(
        (422, {}, {"message": hostile, "documentation_url": DOCS, "errors": errors})
    )
    hub.repos[REPO].branches["qv/p"] = "b" * 40
    err = refused(lambda: GitHub(REPO, TOKEN, hub.url).open_pull("qv/p", "main", "t", "b"))
    assert "\\x1b[2J" in str(err)
    assert "\\u202e" in str(err)
    assert "no\\x07pe" in str(err)
    assert "\u202e" not in str(err)


def test_github_failing_says_to_retry(hub: FakeGitHub) -> None:
    hub.scripted.append((500, {}, {"message": "Server Error", "documentation_url": DOCS}))
    err = refused(lambda: with_pull(hub).pull(1))
    assert "GitHub failed while reading pull request #1" in str(err)
    assert "githubstatus.com" in str(err)


def test_a_read_is_asked_again_once_after_a_passing_failure(
    hub: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("qv_config.forge.http.RETRY_AFTER", 0.01)
    unavailable = (503, {}, {"message": "Service Unavailable", "documentation_url": DOCS})
    hub.scripted.append(unavailable)
    assert with_pull(hub).pull(1).number == 1
    hub.scripted += [unavailable, unavailable]
    err = refused(lambda: with_pull(hub).pull(1))
    assert "reading pull request #1 of octo/trading-config (503: Service Unavailable)" in str(err)
    assert len(hub.requests("GET")) == 4


def test_a_write_is_never_repeated(hub: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("qv_config.forge.http.RETRY_AFTER", 0.01)
    hub.repos[REPO].branches["qv/p"] = "b" * 40
    hub.scripted += [
        (200, {}, []),
        (503, {}, {"message": "Unavailable", "documentation_url": DOCS}),
    ]
    refused(lambda: GitHub(REPO, TOKEN, hub.url).open_pull("qv/p", "main", "t", "b"))
    assert len(hub.requests("POST")) == 1


def test_no_answer_in_time_is_a_timeout(hub: FakeGitHub) -> None:
    hub.delay = 2.0
    forge = with_pull(hub)
    slow = GitHub(REPO, TOKEN, hub.url, timeout=0.3)
    err = refused(lambda: slow.pull(1))
    assert "did not answer within 0.3 s while reading pull request #1" in str(err)
    assert err.status is None
    forge.close()


def test_nobody_listening_is_cannot_reach() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = refused(lambda: GitHub(REPO, TOKEN, f"http://127.0.0.1:{port}").pull(1))
    assert f"cannot reach GitHub at http://127.0.0.1:{port}" in str(err)
    assert "QV_GITHUB_API_URL" in str(err)


def test_a_page_that_is_not_the_api_is_not_json(hub: FakeGitHub) -> None:
    """QV_GITHUB_API_URL pointing at a web page (GitHub Enterprise without /api/v3)."""
    hub.scripted.append((200, {}, b"<html>Sign in to GitHub</html>"))
    err = refused(lambda: with_pull(hub).pull(1))
    assert "is not JSON" in str(err)
    assert "https://HOST/api/v3" in str(err)
    assert any("is not application/json" in v for v in hub.violations)  # not GitHub's answer
    hub.violations.clear()


def test_a_next_page_elsewhere_is_not_followed(hub: FakeGitHub) -> None:
    """The token goes to the API URL only, whatever a Link header says."""
    link = (
        '<https://collector.example/repos/octo/trading-config/pulls/1/reviews?page=2>; rel="next"'
    )
    hub.scripted.append((200, {"Link": link}, []))
    err = refused(lambda: with_pull(hub).reviews(1))
    assert "next page is not under" in str(err)
    assert len(hub.seen) == 1


def test_an_answer_without_what_qv_reads_is_refused_and_caught_as_drift(hub: FakeGitHub) -> None:
    """A deliberately wrong answer (a pull request without its head): qv refuses it, and the
    checker of GitHub's description catches the server giving it."""
    hub.mangle = lambda pull: {k: v for k, v in pull.items() if k != "head"}
    err = refused(lambda: with_pull(hub).pull(1))
    assert "lacks what the REST API describes (head)" in str(err)
    assert hub.violations == [
        "GET /repos/{owner}/{repo}/pulls/{pull_number} 200 response: at /: 'head' is a required"
        " property"
    ]
    hub.violations.clear()


@pytest.mark.parametrize(
    "url", ["http://api.github.example", "ftp://x", "api.github.com", "https://u@h/api?x=1"]
)
def test_an_api_url_a_token_must_not_go_to_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError, match="GitHub API URL") as caught:
        GitHub(REPO, TOKEN, url)
    assert "QV_GITHUB_API_URL" in str(caught.value) or "base URL" in str(caught.value)


def test_an_empty_token_is_a_usage_error_naming_github_token() -> None:
    with pytest.raises(UsageError, match="GITHUB_TOKEN"):
        GitHub(REPO, "  ")


@pytest.mark.parametrize("token", ["ghp_ab cd", "ghp_tökén", "ghp_a\nb", '"ghp_x\x1b"'])
def test_a_token_that_cannot_be_one_is_refused_unquoted(token: str) -> None:
    with pytest.raises(UsageError, match="holds characters no GitHub token has") as caught:
        GitHub(REPO, token)
    assert token.strip('"') not in str(caught.value)


def response(status: int, headers: dict[str, str], body: object) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=body)


def test_a_429_is_the_secondary_rate_limit() -> None:
    err = failure(response(429, {}, {"message": "slow down"}), "reading x", "https://api")
    assert "secondary rate limit" in str(err)
    assert "wait a minute" in str(err)
    assert err.status == 429


def test_a_moved_repository_is_reported_not_followed() -> None:
    moved = {"location": "https://api.github.com/repositories/1/pulls"}
    err = failure(
        response(301, moved, {"message": "Moved Permanently"}), "reading x", "https://api"
    )
    assert "moved to https://api.github.com/repositories/1/pulls" in str(err)
    assert "GITHUB_REPOSITORY" in str(err)


def test_an_unreadable_reset_time_still_says_what_to_do() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}
    err = failure(response(403, headers, {"message": "API rate limit exceeded"}), "x", "https://a")
    assert "wait until the limit resets" in str(err)
    assert isinstance(err, QvError)

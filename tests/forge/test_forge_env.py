"""``forge.env``: the client a CI job or a shell configures (token, API URL, repository), and
the pull request a job runs for."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qv_config.errors import UsageError
from qv_config.forge.env import from_env, open_pull, parse_remote, pull_number
from tests.forge.fakehub import TOKEN, FakeGitHub


def repo_with_origin(root: Path, url: str | None) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    if url is not None:
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", url], check=True)
    return root


def test_no_token_is_a_usage_error_naming_github_token(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="GITHUB_TOKEN is not set") as caught:
        from_env(tmp_path, {"GITHUB_REPOSITORY": "octo/x"})
    assert caught.value.exit_code == 2
    assert "docs/forge.md" in str(caught.value)


def test_github_actions_environment(tmp_path: Path) -> None:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo/trading-config",
        "GITHUB_API_URL": "https://ghe.example.com/api/v3",
    }
    forge = from_env(tmp_path, env)  # no Git repository needed
    assert (forge.repo, forge.api_url) == ("octo/trading-config", "https://ghe.example.com/api/v3")


def test_qv_github_api_url_wins_over_githubs(tmp_path: Path) -> None:
    env = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo/x",
        "GITHUB_API_URL": "https://api.github.com",
        "QV_GITHUB_API_URL": "https://proxy.example/github/",
    }
    assert from_env(tmp_path, env).api_url == "https://proxy.example/github"


@pytest.mark.parametrize(
    ("url", "repo", "api"),
    [
        (
            "https://github.com/octo/trading-config.git",
            "octo/trading-config",
            "https://api.github.com",
        ),
        ("git@github.com:octo/trading-config.git", "octo/trading-config", "https://api.github.com"),
        (
            "ssh://git@github.com/octo/trading-config",
            "octo/trading-config",
            "https://api.github.com",
        ),
        ("git@github-work:octo/cfg.git", "octo/cfg", "https://api.github.com"),
        ("https://ghe.corp.example/risk/cfg.git", "risk/cfg", "https://ghe.corp.example/api/v3"),
        (
            "ssh://git@ghe.corp.example:2222/risk/cfg.git",
            "risk/cfg",
            "https://ghe.corp.example/api/v3",
        ),
        ("https://quant.ghe.com/risk/cfg", "risk/cfg", "https://api.quant.ghe.com"),
    ],
)
def test_the_repository_and_api_from_the_origin_remote(
    tmp_path: Path, url: str, repo: str, api: str
) -> None:
    root = repo_with_origin(tmp_path, url)
    forge = from_env(root, {"GITHUB_TOKEN": TOKEN})
    assert (forge.repo, forge.api_url) == (repo, api)


def test_no_repository_anywhere(tmp_path: Path) -> None:
    root = repo_with_origin(tmp_path, None)
    with pytest.raises(UsageError, match="GITHUB_REPOSITORY is not set and there is no origin"):
        from_env(root, {"GITHUB_TOKEN": TOKEN})


@pytest.mark.parametrize("url", ["/srv/git/cfg.git", "https://github.com/octo", "file:///x/y/z"])
def test_an_origin_that_is_no_github_url(url: str) -> None:
    with pytest.raises(UsageError, match="is not a GitHub repository URL"):
        parse_remote(url)


def test_open_pull_in_one_call(tmp_path: Path, hub: FakeGitHub) -> None:
    hub.repos["octo/trading-config"].branches["qv/promote/dev-to-staging/abc"] = "b" * 40
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "octo/trading-config"}
    env["QV_GITHUB_API_URL"] = hub.url
    head = "qv/promote/dev-to-staging/abc"
    pull = open_pull(tmp_path, head=head, base="main", title="t", body="b", environ=env)
    assert (pull.number, pull.created) == (1, True)
    again = open_pull(tmp_path, head=head, base="main", title="t", body="c", environ=env)
    assert (again.number, again.created) == (1, False)


def test_from_env_reaches_the_server(tmp_path: Path, hub: FakeGitHub) -> None:
    env = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "octo/trading-config"}
    with from_env(tmp_path, {**env, "QV_GITHUB_API_URL": hub.url}) as forge:
        assert forge.pull_for_head("nothing") is None


@pytest.mark.parametrize(
    ("env", "number"),
    [
        ({"GITHUB_REF": "refs/pull/42/merge"}, 42),
        ({"GITHUB_REF": "refs/heads/main"}, None),
        ({"QV_PULL_REQUEST": "7", "GITHUB_REF": "refs/pull/42/merge"}, 7),
        ({}, None),
    ],
)
def test_the_pull_request_a_job_runs_for(env: dict[str, str], number: int | None) -> None:
    assert pull_number(env) == number


def test_a_pull_request_number_that_is_none() -> None:
    with pytest.raises(UsageError, match="is not a pull request number"):
        pull_number({"QV_PULL_REQUEST": "#7"})

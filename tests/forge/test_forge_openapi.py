"""The checker the fake GitHub server is held to: GitHub's own OpenAPI description, verified,
and strict enough that neither the server's answers nor qv's requests can drift from it."""

from __future__ import annotations

import copy
import hashlib
import json
import socket

import httpx
import pytest

from tests.forge.fakehub import TOKEN, FakeGitHub
from tests.forge.openapi import (
    INTEGRITY,
    MEMBERS,
    Checker,
    Unavailable,
    cached_path,
    extract,
    fetch,
    integrity,
)

PULLS = "/repos/octo/r/pulls"
REVIEWS = "/repos/octo/r/pulls/1/reviews"
JSON = "application/json; charset=utf-8"


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()


def test_the_descriptions_are_the_pinned_ones(checker: Checker, ghes_checker: Checker) -> None:
    for name, sha256 in MEMBERS.items():
        assert hashlib.sha256(cached_path(name).read_bytes()).hexdigest() == sha256
    assert checker.spec["info"]["version"] == "23.0.2"
    assert checker.spec["openapi"].startswith("3.0")
    assert ghes_checker.spec["servers"][0]["url"].endswith("/api/v3")


def test_a_tarball_that_is_not_the_pinned_one_is_refused() -> None:
    with pytest.raises(Unavailable, match="does not match its integrity"):
        extract(b"\x1f\x8b not the package")


def test_integrity_is_npms_sri_string() -> None:
    assert integrity(b"") == (
        "sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg=="
    )
    assert INTEGRITY.startswith("sha512-")


def test_an_unreachable_registry_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unavailable, match="cannot fetch"):
        fetch(f"http://127.0.0.1:{port}/@octokit/openapi/-/openapi-23.0.2.tgz")


def test_githubs_sample_answers_pass(checker: Checker) -> None:
    review = dumps(checker.example("pull-request-review-items"))
    assert checker.check_response("GET", REVIEWS, 200, JSON, review) == []


def test_a_wrong_answer_is_caught(checker: Checker) -> None:
    reviews = copy.deepcopy(checker.example("pull-request-review-items"))
    reviews[0]["state"] = 3
    del reviews[0]["commit_id"]
    found = checker.check_response("GET", REVIEWS, 200, JSON, dumps(reviews))
    assert sorted(found) == [
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200 response: at /0/state: 3 is"
        " not of type 'string'",
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 200 response: at /0: 'commit_id'"
        " is a required property",
    ]


def test_a_null_where_the_description_allows_none_is_caught(checker: Checker) -> None:
    pull = copy.deepcopy(checker.example("pull-request"))
    pull["requested_teams"] = []
    assert checker.check_response("POST", PULLS, 201, JSON, dumps(pull)) == []
    pull["merged_at"] = None  # nullable: fine
    assert checker.check_response("POST", PULLS, 201, JSON, dumps(pull)) == []
    pull["number"] = None  # not nullable
    assert checker.check_response("POST", PULLS, 201, JSON, dumps(pull)) != []


def test_statuses_types_and_operations_the_api_does_not_have_are_caught(checker: Checker) -> None:
    assert checker.check_response("GET", REVIEWS, 418, JSON, b"{}") == [
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews 418 response: the status is not"
        " one the operation gives"
    ]
    assert (
        "not application/json" in checker.check_response("GET", REVIEWS, 200, "text/html", b"[]")[0]
    )
    assert (
        "no such operation" in checker.check_response("GET", "/repos/o/r/pullz", 200, JSON, b"")[0]
    )
    assert "no such operation" in checker.check_request("DELETE", PULLS, {}, None, b"")[0]
    error = dumps({"message": 404, "documentation_url": "x"})
    assert "at /message" in checker.check_response("GET", REVIEWS, 404, JSON, error)[0]


def test_wrong_requests_are_caught(checker: Checker) -> None:
    def request(body: object) -> list[str]:
        return checker.check_request("POST", PULLS, {}, "application/json", dumps(body))

    assert request({"title": "t", "head": "h", "base": "main", "body": "b"}) == []
    assert request({"title": "t", "head": "h", "base": "main", "bdy": "b"}) == [
        "POST /repos/{owner}/{repo}/pulls request: field 'bdy' is not declared"
    ]
    assert "'base' is a required property" in request({"title": "t", "head": "h"})[0]
    assert "the body is required" in checker.check_request("POST", PULLS, {}, None, b"")[0]
    assert "not application/json" in checker.check_request("POST", PULLS, {}, "text/plain", b"x")[0]
    assert checker.check_request(
        "GET", REVIEWS, {"per_page": ["x"], "pages": ["2"]}, None, b""
    ) == [
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews request: query parameter 'pages'"
        " is not declared",
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews request: query per_page: 'x' is"
        " not an integer",
    ]
    assert (
        "'closed!' is not one of"
        in checker.check_request("GET", PULLS, {"state": ["closed!"]}, None, b"")[0]
    )
    assert (
        "path: 'one' is not an integer"
        in checker.check_request("GET", "/repos/o/r/pulls/one", {}, None, b"")[0]
    )
    assert "sends a body" in checker.check_request("GET", REVIEWS, {}, JSON, b"{}")[0]


def test_the_server_catches_a_request_that_drifts(hub: FakeGitHub) -> None:
    """A request the description does not allow, sent to the fake server, is recorded."""
    body = {"title": "t", "head": "main", "base": "main", "draft": "yes"}
    httpx.post(
        f"{hub.url}/repos/octo/trading-config/pulls",
        json=body,
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert hub.violations == [
        "POST /repos/{owner}/{repo}/pulls request: at /draft: 'yes' is not of type 'boolean'"
    ]
    hub.violations.clear()

"""Fixtures of the forge tests: GitHub's OpenAPI description (fetched once, verified, cached
outside the repository) and the fake GitHub server checked against it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.forge.fakehub import FakeGitHub
from tests.forge.openapi import Checker, Unavailable, description


def _checker(name: str) -> Checker:
    """The checker of GitHub's REST API description ``name``; under CI=true one that cannot
    be had fails the test, elsewhere it skips saying why."""
    try:
        return Checker(description(name))
    except Unavailable as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"GitHub's OpenAPI description is needed under CI: {err}")
        pytest.skip(f"GitHub's OpenAPI description is not available: {err}")


@pytest.fixture(scope="session")
def checker() -> Checker:
    """github.com's REST API description."""
    return _checker("api.github.com")


@pytest.fixture(scope="session")
def ghes_checker() -> Checker:
    """GitHub Enterprise Server 3.19's REST API description."""
    return _checker("ghes-3.19")


def _serve(checker: Checker, prefix: str) -> Iterator[FakeGitHub]:
    hub = FakeGitHub(checker, prefix).start()
    try:
        yield hub
    finally:
        hub.stop()
    assert hub.violations == [], "drift from GitHub's REST API:\n" + "\n".join(hub.violations)


@pytest.fixture
def hub(checker: Checker) -> Iterator[FakeGitHub]:
    """A fake github.com API on loopback; the test fails if any request or response it saw
    departs from GitHub's description."""
    yield from _serve(checker, "")


@pytest.fixture
def ghe_hub(ghes_checker: Checker) -> Iterator[FakeGitHub]:
    """GitHub Enterprise Server's API: under /api/v3, held to Enterprise Server's description."""
    yield from _serve(ghes_checker, "/api/v3")

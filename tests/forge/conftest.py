"""Fixtures of the forge tests: GitHub's OpenAPI description (fetched once, verified, cached
outside the repository) and the fake GitHub server checked against it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.forge.fakehub import FakeGitHub
from tests.forge.openapi import Checker, Unavailable, description


@pytest.fixture(scope="session")
def checker() -> Checker:
    """The checker of GitHub's REST API description; under CI=true one that cannot be had
    fails the test, elsewhere it skips saying why."""
    try:
        return Checker(description())
    except Unavailable as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"GitHub's OpenAPI description is needed under CI: {err}")
        pytest.skip(f"GitHub's OpenAPI description is not available: {err}")


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
def ghe_hub(checker: Checker) -> Iterator[FakeGitHub]:
    """The same as GitHub Enterprise Server serves it: under /api/v3."""
    yield from _serve(checker, "/api/v3")

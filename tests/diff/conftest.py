"""Fixtures of the diff tests: the starter project committed in a real Git repository."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from tests.diff.secretrepo import History, build_history, build_unmarked_history
from tests.gitrepo import Repo, starter_repo
from tests.inprocess import QvRun, run_qv


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return starter_repo(tmp_path / "config")


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., QvRun]:
    """Run the CLI in-process (as ``qv -C ROOT ARGS``), capturing exit code and output."""
    return partial(run_qv, capsys)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The secret history of ``secretrepo.build_history``, built once for every test module."""
    return build_history(tmp_path_factory.mktemp("secretdiff") / "repo")


@pytest.fixture(scope="session")
def unmarked(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The history of ``secretrepo.build_unmarked_history``: an encrypted value no schema marks."""
    return build_unmarked_history(tmp_path_factory.mktemp("unmarked") / "repo")

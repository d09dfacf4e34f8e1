"""Fixtures of the promote tests: real Git repositories of the starter and of this project."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.diff.secretrepo import init_repo
from tests.gitrepo import Repo, starter_repo
from tests.inprocess import QvRun, run_qv


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """The starter committed on main."""
    return starter_repo(tmp_path / "config")


@pytest.fixture
def project(tmp_path: Path) -> Repo:
    """This project's own configuration tree (strategies sized per environment, SOPS secrets)
    committed on main."""
    root = tmp_path / "quantivista"
    init_repo(root)
    repo = Repo(root)
    repo.commit("The QuantiVista configuration")
    return repo


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., QvRun]:
    """Run the CLI in-process (as ``qv -C ROOT ARGS``), capturing exit code and output."""
    return partial(run_qv, capsys)

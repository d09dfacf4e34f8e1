"""Fixtures of the flags tests: the repository's own project (its flags, environments and
templates) copied into a temporary folder and committed to a real Git repository."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.inprocess import QvRun, run_qv

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("qv.yaml", ".sops.yaml", "environments", "templates", "schemas", "strategies")


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def copy_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.exists():
            shutil.copy(source, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "Dev")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the repository's project")
    return root


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One copy for a module's tests that only read it."""
    return copy_project(tmp_path_factory.mktemp("flags") / "repo")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of its own for a test that edits it."""
    return copy_project(tmp_path / "repo")


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., QvRun]:
    return partial(run_qv, capsys)

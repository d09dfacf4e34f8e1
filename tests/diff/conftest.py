"""Fixtures of the diff tests: the starter project committed in a real Git repository."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from tests.diff.secretrepo import History, build_history
from tests.inprocess import QvRun, run_qv

from qv_config.scaffold import write_starter


class Repo:
    """A real Git repository holding the starter project, with helpers to edit and commit."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.root, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def replace(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))

    def commit(self, message: str, author: str = "Ada Quant <ada@quantivista.dev>") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--author", author, "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    root = tmp_path / "config"
    root.mkdir()
    write_starter(root)
    r = Repo(root)
    r.git("init", "-q", "-b", "main")
    r.git("config", "user.name", "CI Bot")
    r.git("config", "user.email", "ci@quantivista.dev")
    r.git("config", "commit.gpgsign", "false")
    r.commit("Starter project")
    return r


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., QvRun]:
    """Run the CLI in-process (as ``qv -C ROOT ARGS``), capturing exit code and output."""
    return partial(run_qv, capsys)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    """The secret history of ``secretrepo.build_history``, built once for every test module."""
    return build_history(tmp_path_factory.mktemp("secretdiff") / "repo")

"""A real Git repository holding a qv project, with helpers to edit and commit (diff, promote)."""

from __future__ import annotations

import subprocess
from pathlib import Path

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

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def replace(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))

    def commit(self, message: str, author: str = "Ada Quant <ada@quantivista.dev>") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--author", author, "-m", message)
        return self.git("rev-parse", "HEAD")


def starter_repo(root: Path) -> Repo:
    """``qv init``'s starter committed on ``main`` of a new repository at ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    write_starter(root)
    repo = Repo(root)
    repo.git("init", "-q", "-b", "main")
    repo.git("config", "user.name", "CI Bot")
    repo.git("config", "user.email", "ci@quantivista.dev")
    repo.git("config", "commit.gpgsign", "false")
    repo.commit("Starter project")
    return repo

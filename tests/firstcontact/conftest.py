"""Fixtures of the first-contact tests (issue 14): this repository's own configuration tree,
copied and committed, and a `qv init` tree, as a new user meets them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TREE = (
    "qv.yaml", ".sops.yaml", "environments", "strategies", "templates", "schemas", "reports",
    "keys", "scripts",
)  # fmt: skip
DEV_KEY = "keys/demo-dev.agekey"


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def commit_all(root: Path, message: str = "tree") -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


@pytest.fixture
def own_tree(tmp_path: Path) -> Callable[[], Path]:
    """A copy of this repository's configuration tree (and scripts/), committed to a new Git
    repository: what a clone holds, without the qv sources or anything under .qv/."""

    def make() -> Path:
        dest = tmp_path / "tree"
        dest.mkdir()
        for name in TREE:
            source = REPO / name
            if source.is_dir():
                shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns(".qv"))
            else:
                shutil.copy2(source, dest / name)
        git(dest, "init", "-q", "-b", "main")
        commit_all(dest)
        return dest

    return make

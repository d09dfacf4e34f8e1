"""Fixtures of the first-contact tests (issue 14): this repository's own configuration tree,
copied and committed, and a `qv init` tree, as a new user meets them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.firstcontact.gittree import commit_all, git

REPO = Path(__file__).resolve().parents[2]
TREE = (
    "qv.yaml", ".sops.yaml", "environments", "policy", "strategies", "templates", "schemas",
    "reports", "keys", "scripts",
)  # fmt: skip
DEV_KEY = "keys/demo-dev.agekey"


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


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No age key in the environment (nor sops' default file), and no QV_STORE: a new user's."""
    for name in ("SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY", "QV_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))

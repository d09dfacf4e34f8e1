"""Store test fixtures. The server fixtures come from tests/conftest.py (tests/servers.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A committed starter project (qv init) in a real Git repository."""
    from qv_config.scaffold import write_starter

    root = tmp_path / "proj"
    root.mkdir()
    write_starter(root)
    _git(root, "init", "-q")
    _git(root, "config", "user.email", "dev@example.com")
    _git(root, "config", "user.name", "Dev")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    return root

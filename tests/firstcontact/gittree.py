"""Git in the first-contact tests: a fixed identity, failures raised."""

from __future__ import annotations

import subprocess
from pathlib import Path


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

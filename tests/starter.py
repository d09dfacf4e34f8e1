"""A `qv init` starter tree whose files are older than the stat index's racy window."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from qv_config.scaffold import write_starter


def age(root: Path) -> None:
    """Date every file a minute back, as after edits made a while before the run."""
    old = os.stat(root).st_mtime - 60
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def aged_starter(root: Path) -> None:
    write_starter(root)
    age(root)


def committed_starter(root: Path) -> Path:
    """A `qv init` starter tree in ``root`` (made), committed to a new Git repository."""
    root.mkdir(parents=True)
    write_starter(root)
    for args in (
        ("init", "-q"),
        ("config", "user.email", "dev@example.com"),
        ("config", "user.name", "Dev"),
        ("add", "-A"),
        ("commit", "-qm", "init"),
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return root

"""`make demo` on a fresh machine: it needs no `sqlite3` command-line tool (issue 14).

The demo runs on a copy of this repository's configuration tree, committed to a new Git
repository, with a PATH that holds every program but sqlite3.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def _path_without_sqlite3(bin_dir: Path) -> str:
    """One folder with every program of PATH linked in, except sqlite3."""
    bin_dir.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not folder or not Path(folder).is_dir():
            continue
        for program in Path(folder).iterdir():
            link = bin_dir / program.name
            if program.name != "sqlite3" and not link.exists() and not link.is_symlink():
                link.symlink_to(program)
    assert shutil.which("sqlite3", path=str(bin_dir)) is None
    return str(bin_dir)


def test_demo_runs_without_the_sqlite3_tool(tmp_path: Path, own_tree: Callable[[], Path]) -> None:
    tree = own_tree()
    bash = shutil.which("bash")
    assert bash is not None
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "QV_"))},
        "PATH": _path_without_sqlite3(tmp_path / "bin"),
        "QV": str(Path(sys.executable).with_name("qv")),
        "PY": sys.executable,
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [bash, "scripts/demo.sh"], cwd=tree, env=env, capture_output=True, text=True, check=False
    )
    assert "command not found" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert "demo finished" in done.stdout
    assert "(qv drift exited 1)" in done.stdout  # the edit made through Python was seen

"""The README's quick start runs clean on a fresh tree (issue 14): every `qv` command of its
shell blocks (after `make`) is run as written — on a copy of this repository's tree, and in a
new folder for the `qv init` block — and must exit 0."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.qvbin import QV

pytestmark = pytest.mark.usefixtures("no_key")

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> list[list[str]]:
    """The command lines of each ```sh block of the Quick start section (comments dropped)."""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [part.split("```", 1)[0] for part in section.split("```sh\n")[1:]]
    lines = [[line.split("  #", 1)[0].strip() for line in block.splitlines()] for block in blocks]
    return [[line for line in block if line] for block in lines]


def _run(lines: list[str], cwd: Path) -> None:
    """Each line's commands, `&&`-joined; `cd` moves on, `qv` runs the qv under test."""
    env = {**os.environ, "NO_COLOR": "1"}
    for line in lines:
        for command in line.split("&&"):
            words = shlex.split(command)
            if words[0] == "cd":
                cwd = cwd / words[1]
                continue
            assert words[0] == "qv", line
            done = subprocess.run(
                [QV, *words[1:]], cwd=cwd, env=env, capture_output=True, text=True, check=False,
                timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, (line, done.stdout[-1500:], done.stderr[-1500:])
            assert "Traceback" not in done.stderr


def test_the_quick_start_blocks_are_the_ones_tested() -> None:
    blocks = _blocks()
    assert len(blocks) == 3
    assert all(line.startswith("make ") for line in blocks[0])
    assert any("--key-file" in line for line in blocks[1])  # the key step is shown
    assert blocks[2][0].startswith("qv init ")


def test_the_commands_on_this_repository_run_clean(own_tree: Callable[[], Path]) -> None:
    _run(_blocks()[1], own_tree())


def test_the_commands_of_a_new_repository_run_clean(tmp_path: Path) -> None:
    _run(_blocks()[2], tmp_path)

"""Long work shows progress (issue 14): `qv validate` counts documents as they are checked,
in this process and in forked workers; `qv sync` and a whole-environment `qv diff` show a
spinner on a terminal, and nothing in a pipe."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.qvbin import QV
from tests.terminal import run_on_a_terminal

from qv_config.repo.prefetch import SharedCount, in_workers

pytestmark = pytest.mark.usefixtures("no_key")

KEY = "keys/demo-dev.agekey"


def test_workers_count_documents_while_they_run() -> None:
    counter = SharedCount()
    told: list[int] = []

    def job(item: int) -> int:
        for _ in range(item):
            time.sleep(0.05)  # a document rendered and checked
            counter.add(1)
        return item

    assert in_workers(job, [4, 4, 4], waiting=counter.reporter(told.append)) == [4, 4, 4]
    assert sum(told) <= 12
    assert len(told) >= 2  # heard while the workers ran, not once at the end


def test_sync_shows_a_spinner_on_a_terminal_and_nothing_in_a_pipe(
    own_tree: Callable[[], Path],
) -> None:
    root = own_tree()
    args = [QV, "-C", str(root), "sync", "--env", "dev", "--key-file", str(root / KEY)]
    code, terminal = run_on_a_terminal([*args, "--dry-run"])
    assert code == 0
    assert "syncing dev" in terminal
    piped = subprocess.run(args, capture_output=True, text=True, check=False, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""
    assert "applied" in piped.stdout


def test_a_whole_environment_diff_shows_a_spinner_on_a_terminal(
    own_tree: Callable[[], Path],
) -> None:
    root = own_tree()
    code, terminal = run_on_a_terminal([QV, "-C", str(root), "diff", "dev", "staging"])
    assert code == 0
    assert "diffing dev and staging" in terminal
    assert "rendering dev" in terminal
    piped = subprocess.run(
        [QV, "-C", str(root), "diff", "dev", "staging"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert piped.returncode == 0
    assert piped.stderr == ""
    assert "changed  config/order-management" in piped.stdout  # the diff itself is whole

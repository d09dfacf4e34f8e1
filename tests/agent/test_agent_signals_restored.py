"""``qv agent --once`` run in-process puts the process's own signal handlers back: a test (or
any program calling ``main`` again) must not be left with the agent's SIGTERM handler, under
which forked workers would ignore ``Pool.terminate`` and hang."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from tests.inprocess import run_qv

from qv_config.scaffold import write_starter


def test_agent_once_restores_the_signal_handlers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    write_starter(root)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    # Not a Git repository: the cycle fails (exit 3), after the handlers were installed.
    run_qv(capsys, tmp_path, "agent", "--once", "--env", "dev", "--source", str(root))
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before

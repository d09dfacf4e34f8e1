"""The real CLI run in the test process (as ``qv -C ROOT ARGS``): exit code and output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from qv_config.cli.__main__ import main


@dataclass(frozen=True)
class QvRun:
    code: int
    out: str
    err: str


def run_qv(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> QvRun:
    """Run ``qv -C root *args`` in-process; no traceback may reach stderr (SPEC §10)."""
    capsys.readouterr()
    try:
        main(["-C", str(root), *args])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    else:
        code = 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return QvRun(code, captured.out, captured.err)

"""Progress of long validation (SPEC §10): the core reports documents rendered and checked per
environment; the CLI draws a bar on a terminal only, for long work only, and clears it."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from tests.terminal import run_on_a_terminal

from qv_config.cli.output import ProgressBar, progress_bar
from qv_config.progress import NO_PROGRESS
from qv_config.repo import WorkTreeSource, load_snapshot
from qv_config.validate import validate

QV = str(Path(sys.executable).with_name("qv"))


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start(self, label: str, total: int) -> None:
        self.calls.append(("start", (label, total)))

    def advance(self, amount: int) -> None:
        self.calls.append(("advance", amount))

    def stop(self) -> None:
        self.calls.append(("stop", None))

    def total(self) -> int:
        return next(int(v[1]) for k, v in self.calls if k == "start")  # type: ignore[index]

    def advanced(self) -> int:
        return sum(int(v) for k, v in self.calls if k == "advance")  # type: ignore[call-overload]


def _flags(root: Path, count: int) -> None:
    """``count`` more Flag documents in dev, so that the work is long enough for a bar."""
    folder = root / "environments/dev/flags"
    for i in range(count):
        (folder / f"gen-{i:04}.yaml").write_text(
            "apiVersion: qv/v1\nkind: Flag\n"
            f"metadata: {{name: gen-{i:04}, owner: team-alpha}}\n"
            "spec:\n  type: kill-switch\n  enabled: false\n"
        )


def test_validate_reports_every_rendered_document_then_stops(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    seen = Recorder()
    result = validate(load_snapshot(WorkTreeSource(root)), progress=seen)
    assert result.ok
    assert seen.calls[0][0] == "start"
    assert seen.calls[-1] == ("stop", None)
    assert seen.total() == seen.advanced() > 0
    # Document by document (issue 14: it jumped by environment), not beyond the total.
    assert [v for k, v in seen.calls if k == "advance"] == [1] * seen.total()
    warm = Recorder()
    validate(load_snapshot(WorkTreeSource(root)), progress=warm)
    assert warm.calls == []  # nothing to render: nothing to show


def test_the_bar_is_drawn_for_long_work_and_cleared() -> None:
    out = io.StringIO()
    bar = ProgressBar(Console(file=out, force_terminal=True, width=100))
    bar.start("validating dev", 500)
    bar.advance(250)
    bar.advance(250)
    bar.stop()
    drawn = out.getvalue()
    assert "validating dev (documents)" in drawn
    assert "500/500" in drawn


def test_short_work_and_non_terminals_get_no_bar() -> None:
    out = io.StringIO()
    bar = ProgressBar(Console(file=out, force_terminal=True, width=100))
    bar.start("validating dev", 3)  # one edited document: over before it could be read
    bar.advance(3)
    bar.stop()
    assert out.getvalue() == ""
    assert progress_bar() is NO_PROGRESS  # pytest's captured stderr is not a terminal


def test_qv_validate_shows_a_bar_on_a_terminal_and_none_in_a_pipe(
    case_tree: Callable[[str], Path],
) -> None:
    root = case_tree("valid")
    _flags(root, 300)
    code, terminal = run_on_a_terminal([QV, "-C", str(root), "validate"])
    assert code == 0
    assert "validating dev, prod (documents)" in terminal
    piped = subprocess.run(
        [QV, "-C", str(root), "validate", "--no-cache"], capture_output=True, text=True, check=False
    )
    assert piped.returncode == 0
    assert piped.stderr == ""
    assert "valid" in piped.stdout


def test_the_bar_counts_in_its_own_unit_from_its_own_size() -> None:
    out = io.StringIO()
    bar = ProgressBar(Console(file=out, force_terminal=True, width=100), "commits", min_total=10)
    bar.start("reading prod's history", 5)  # qv log -n 5: short
    bar.stop()
    assert out.getvalue() == ""
    bar.start("reading prod's history", 12)
    bar.advance(12)
    bar.stop()
    assert "reading prod's history (commits)" in out.getvalue()

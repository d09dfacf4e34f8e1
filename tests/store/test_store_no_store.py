"""Commands that only read a store (`qv drift`, `qv history`, and `qv rollback`, which reads
the audit log first) never create a missing SQLite file: they say there is no store there
(nothing synced yet) and how to make one, exit 3. `qv sync` creates it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inprocess import run_qv

READERS = {
    "drift": ["drift", "--env", "dev"],
    "history": ["history", "--env", "dev"],
    "rollback": ["rollback", "--env", "dev", "--to", "HEAD", "--reason", "bad deploy"],
}


@pytest.mark.parametrize("where", ["default", "elsewhere"])
@pytest.mark.parametrize("command", sorted(READERS))
def test_a_reader_does_not_create_the_store(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, where: str
) -> None:
    path = project / ".qv/state.db" if where == "default" else tmp_path / "new dir/state.db"
    store = [] if where == "default" else ["--store", f"sqlite:{path}"]
    done = run_qv(capsys, project, *READERS[command], *store)
    assert done.code == 3, done.err
    assert f"there is no store at {path}: nothing was synced to it yet" in done.err
    assert "qv sync" in done.err
    assert not path.exists()
    assert not path.parent.exists() or where == "default"
    assert not (project / ".qv/state.db").exists()


def test_sync_creates_it_and_then_the_readers_read_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_qv(capsys, project, "sync", "--env", "dev").code == 0
    assert (project / ".qv/state.db").is_file()
    assert run_qv(capsys, project, "drift", "--env", "dev").code == 0
    history = run_qv(capsys, project, "history", "--env", "dev")
    assert history.code == 0
    assert "apply" in history.out

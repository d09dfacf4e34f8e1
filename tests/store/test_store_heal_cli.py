"""`qv sync --heal`: out-of-band edits found by `qv drift` are restored; plain sync leaves them."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

import qv_config.cli.drift
import qv_config.cli.history
import qv_config.cli.sync  # noqa: F401 - registers the commands on the app
from qv_config.cli.__main__ import main


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def qv(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(root), *args])
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


def test_sync_heal_restores_out_of_band_edits(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert qv(project, capsys, "sync", "--env", "dev")[0] == 0
    key = "qv/dev/config/example-service"
    db = project / ".qv" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("update kv set value = '{\"edited\":1}' where key = ?", (key,))
        conn.execute("delete from kv where key = 'qv/dev/flag/kill-example-momentum'")
        conn.execute("insert into kv values ('qv/dev/config/intruder', '{}')")
    assert qv(project, capsys, "drift", "--env", "dev")[0] == 1
    code, out, _ = qv(project, capsys, "sync", "--env", "dev")
    assert code == 0
    assert "unchanged" in out  # same digest: a plain sync writes nothing
    assert qv(project, capsys, "drift", "--env", "dev")[0] == 1
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--heal", "--format", "json")
    assert code == 0
    plan = json.loads(out)["plan"]
    assert plan["changed"] == ["dev/config/example-service"]
    assert plan["added"] == ["dev/flag/kill-example-momentum"]
    assert plan["removed"] == ["dev/config/intruder"]
    assert qv(project, capsys, "drift", "--env", "dev")[0] == 0
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--heal")
    assert "unchanged" in out  # nothing drifted: nothing written, no audit entry
    _, out, _ = qv(project, capsys, "history", "--env", "dev", "--format", "json")
    entries = json.loads(out)
    assert len(entries) == 2
    assert entries[0]["reason"] == "heal: restored edits made outside qv"


def test_a_first_deploy_over_foreign_keys_leaves_nothing_drifted(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A first deploy (no ``_meta``) plans from the whole store: keys written there outside qv
    are replaced or removed, so it says nothing drifted (without reading the store back)."""
    from qv_config.store import open_store

    db = project / ".qv" / "state.db"
    open_store(f"sqlite:{db}", project).close()  # an empty store (its tables), no _meta
    with sqlite3.connect(db) as conn:
        conn.execute("insert into kv values ('qv/dev/config/intruder', '{}')")
        conn.execute("insert into kv values ('qv/dev/config/example-service', '{\"x\":1}')")
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["plan"]["removed"] == ["dev/config/intruder"]
    assert "dev/config/example-service" in report["plan"]["changed"]
    assert report["drifted"] == []
    assert qv(project, capsys, "drift", "--env", "dev")[0] == 0

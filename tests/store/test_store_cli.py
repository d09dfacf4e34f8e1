"""`qv sync`, `qv drift`, `qv history`, `qv rollback` end to end on a real Git project."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

import qv_config.cli.drift
import qv_config.cli.history
import qv_config.cli.rollback
import qv_config.cli.sync  # noqa: F401 - registers the commands on the app
from qv_config.cli.__main__ import main

CONFIG = "environments/dev/configs/example-service.yaml"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_change(root: Path, value: int) -> str:
    path = root / CONFIG
    path.write_text(
        path.read_text()
        .replace("max_order_notional: 100000", f"max_order_notional: {value}")
        .replace(f"max_order_notional: {value - 1}", f"max_order_notional: {value}")
    )
    git(root, "commit", "-qam", f"notional {value}")
    return git(root, "rev-parse", "HEAD")


def qv(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(root), *args])
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


def test_sync_drift_history_rollback(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = git(project, "rev-parse", "HEAD")
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--format", "json")
    assert code == 0
    assert len(json.loads(out)["plan"]["added"]) == 5
    code, out, _ = qv(project, capsys, "sync", "--env", "dev")
    assert code == 0
    assert "unchanged" in out
    second = commit_change(project, 100001)
    code, out, _ = qv(project, capsys, "drift", "--env", "dev")
    assert code == 0
    assert "pending" in out
    assert "not drift" in out
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--dry-run")
    assert code == 0
    assert "dry run" in out
    assert "~ dev/config/example-service" in out
    code, out, _ = qv(project, capsys, "sync", "--env", "dev")
    assert code == 0
    assert "1 changed" in out
    db = project / ".qv/state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("update kv set value='{}' where key='qv/dev/config/example-service'")
        conn.execute("insert into kv values ('qv/dev/flag/rogue', '{}')")
    code, out, err = qv(project, capsys, "drift", "--env", "dev", "--format", "json")
    assert not err, err
    report = json.loads(out)
    assert code == 1
    assert report["out_of_band"] == {
        "modified": ["dev/config/example-service"],
        "missing": [],
        "unexpected": ["dev/flag/rogue"],
    }
    code, out, err = qv(project, capsys, "sync", "--env", "dev", "--rev", first)
    assert code == 1
    assert "not a descendant" in err
    assert "qv rollback" in err
    code, out, err = qv(
        project, capsys, "rollback", "--env", "dev", "--to", "deadbeef", "--reason", "x"
    )
    assert code == 1
    assert first[:12] in err
    assert second[:12] in err
    code, out, _ = qv(
        project,
        capsys,
        "rollback",
        "--env",
        "dev",
        "--to",
        first[:8],
        "--reason",
        "latency regression",
    )
    assert code == 0
    assert "applied" in out
    code, out, _ = qv(project, capsys, "history", "--env", "dev", "--format", "json")
    log = json.loads(out)
    assert [e["action"] for e in log] == ["rollback", "refused", "apply", "apply"]
    assert log[0]["reason"] == "latency regression"
    assert log[0]["by"] == "dev@example.com"
    code, out, _ = qv(project, capsys, "history", "--env", "dev", "-n", "1")
    assert code == 0
    assert out.count("\n") == 1
    assert "rollback" in out


def test_store_errors_are_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = qv(project, capsys, "history", "--env", "dev", "--store", "bogus:x")
    assert code == 2
    assert "malformed" in err
    assert err.count("\n") == 1
    code, _, err = qv(project, capsys, "sync", "--env", "dev", "--store", "redis://127.0.0.1:1/0")
    assert code == 3
    assert "127.0.0.1:1" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    code, _, _ = qv(project, capsys, "sync", "--env", "dev")
    with sqlite3.connect(project / ".qv/state.db") as conn:
        conn.execute("update kv set value='oops' where key='qv/dev/_meta'")
    code, _, err = qv(project, capsys, "drift", "--env", "dev")
    assert code == 3
    assert "qv/dev/_meta" in err
    assert "sqlite3" in err


def test_store_url_precedence(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QV_STORE", "sqlite:other.db")
    code, out, _ = qv(project, capsys, "sync", "--env", "dev")
    assert code == 0
    assert (project / "other.db").exists()
    assert "other.db" in out
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--store", "sqlite:flag.db")
    assert code == 0
    assert (project / "flag.db").exists()


def test_a_dry_run_against_a_missing_store_plans_and_creates_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = project / "nowhere" / "new.db"
    store = f"sqlite:{db}"
    code, out, err = qv(project, capsys, "sync", "--env", "dev", "--store", store, "--dry-run",
                        "--format", "json")  # fmt: skip
    assert code == 0, err
    assert len(json.loads(out)["plan"]["added"]) == 5  # everything, against nothing deployed
    assert not db.exists()
    assert not db.parent.exists()
    code, out, _ = qv(project, capsys, "drift", "--env", "dev", "--store", store)
    assert code == 3  # still no store: nothing was synced to it
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--store", store)
    assert code == 0
    assert db.exists()
    code, out, _ = qv(project, capsys, "sync", "--env", "dev", "--store", store, "--dry-run")
    assert code == 0
    assert "unchanged" in out  # the store the real sync made

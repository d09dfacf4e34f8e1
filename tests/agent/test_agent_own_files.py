"""The agent's own files failing under it: the SQLite store deleted or replaced, values a person
set by hand (NULL, a blob), and a damaged Git mirror. Real agent processes, real stores."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.qvbin import QV

KEY = "dev/config/example-service"


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    return h.make_repo(tmp_path / "repo")


def args(repo: Path, url: str, *extra: str) -> list[str]:
    return [
        *("--env", "dev", "--source", str(repo), "--store", url),
        *("--interval", "0.3", "--lease-ttl", "3", "--max-backoff", "0.6", *extra),
    ]


def _delete(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def test_deleted_store_is_not_recreated_silently(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    db = tmp_path / "state.db"
    url = f"sqlite:{db}"
    agent = spawn(tmp_path, *args(repo, url))
    tip = h.git(repo, "rev-parse", "HEAD")
    # Waited for in the agent's log, not by opening the store: that open would create the file
    # itself when it ran first, and the agent would find it there.
    h.wait_for(lambda: agent.events("applied"), what="the first sync")
    assert agent.events("store_created")  # the first open made the file, and said so
    assert h.deployed(url, tmp_path) == tip
    _delete(db)
    h.wait_for(lambda: agent.events("store_lost"), what="the loss noticed")
    assert agent.events("store_lost")[0]["reason"] == "deleted"
    assert agent.get("/healthz")[0] == 503  # at once, not after three intervals
    assert agent.metric('qv_agent_store_lost_total{reason="deleted"}') == 1
    h.wait_for(lambda: len(agent.events("cycle_failed")) >= 3, what="cycles failing")
    assert not db.exists()  # waited for, never re-created as an empty store
    assert "not re-created" in json.loads(agent.get("/healthz")[1])["last_error"]
    assert agent.proc.poll() is None
    done = subprocess.run(
        [QV, "-C", str(repo), "sync", "--env", "dev", "--store", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # the operator's fix
    h.wait_for(lambda: agent.events("store_reopened"), what="reopened")
    h.wait_for(lambda: agent.get("/healthz")[0] == 200, what="healthy again")
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="applies again")


def test_deleted_store_with_self_heal_is_recreated_at_the_deployed_revision(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    db = tmp_path / "state.db"
    url = f"sqlite:{db}"
    first = h.git(repo, "rev-parse", "HEAD")
    assert h.run_once(tmp_path, *args(repo, url)).returncode == 0
    rev = h.commit_notional(repo, 90000)
    agent = spawn(tmp_path, *args(repo, url, "--self-heal"))
    h.wait_for(lambda: agent.events("applied"), what="the walk to the tip")
    assert first != rev
    _delete(db)
    h.wait_for(lambda: agent.events("store_recreated"), timeout=60, what="re-created")
    assert agent.events("store_recreated")[0]["revision"] == rev
    h.wait_for(lambda: db.exists() and h.deployed(url, tmp_path) == rev, what="restored")
    reasons = [e.reason for e in h.audit(url, tmp_path)]
    assert any("was deleted while the agent ran" in r for r in reasons)


def test_replaced_store_is_reopened_and_walked_to_the_tip(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    db = tmp_path / "state.db"
    url = f"sqlite:{db}"
    agent = spawn(tmp_path, *args(repo, url))
    first = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == first, what="the first sync")
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    rev = h.commit_notional(repo, 90000)
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="the second commit")
    # An operator restores yesterday's file under the running agent, without the live file's
    # write-ahead log (SQLite would replay it into the restored file).
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(backup, db)
    h.wait_for(lambda: agent.events("store_lost"), what="the swap noticed")
    assert agent.events("store_lost")[0]["reason"] == "replaced"
    assert agent.metric('qv_agent_store_lost_total{reason="replaced"}') == 1
    h.wait_for(lambda: agent.events("store_reopened"), what="reopened")
    h.wait_for(lambda: len(agent.events("applied")) >= 3, what="re-applied to the tip")
    assert h.deployed(url, tmp_path) == rev


def _synced_agent(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> tuple[Path, str, Any]:
    """An agent on a SQLite store (WAL mode), after its first sync: (file, URL, agent)."""
    db = tmp_path / "state.db"
    url = f"sqlite:{db}"
    agent = spawn(tmp_path, *args(repo, url))
    h.wait_for(lambda: agent.events("applied"), what="the first sync")
    return db, url, agent


def _edited_backup(db: Path, backup: Path) -> None:
    """A backup of the live store (WAL mode, its -wal in use) holding an edit made outside qv."""
    with sqlite3.connect(db) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    with sqlite3.connect(backup) as copy:
        copy.execute(f"UPDATE kv SET value = '{{}}' WHERE key = 'qv/{KEY}'")
    copy.close()


def test_a_store_restored_under_the_agent_is_read_as_it_is_not_through_the_old_wal(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    """The restored file keeps the live file's -wal and -shm beside it (SQLite names them after
    the path): they are the old file's, moved aside, never replayed onto the restored one."""
    db, url, agent = _synced_agent(tmp_path, repo, h, spawn)
    assert Path(f"{db}-wal").exists()  # WAL mode, the agent's connection open
    backup = tmp_path / "backup.db"
    _edited_backup(db, backup)
    os.replace(backup, db)
    h.wait_for(lambda: agent.events("store_reopened"), what="reopened")
    lost = agent.events("store_lost")[0]
    assert lost["reason"] == "replaced"
    assert set(lost["moved_aside"]) == {"state.db-wal", "state.db-shm"}
    assert Path(f"{db}-wal.replaced").exists()
    h.wait_for(lambda: agent.events("drift"), what="the restored edit seen as drift")
    assert agent.events("drift")[0]["modified"] == [KEY]
    drift = subprocess.run(
        [QV, "-C", str(repo), "drift", "--env", "dev", "--store", url],
        capture_output=True,
        check=False,
    )
    assert drift.returncode == 1, drift.stdout


def test_a_garbage_file_restored_under_the_agent_fails_health(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    db, _, agent = _synced_agent(tmp_path, repo, h, spawn)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(os.urandom(5000))
    os.replace(garbage, db)
    h.wait_for(lambda: agent.events("store_lost"), what="the swap noticed")
    h.wait_for(lambda: len(agent.events("cycle_failed")) >= 2, what="cycles failing")
    assert agent.get("/healthz")[0] == 503
    assert "not a database" in agent.events("cycle_failed")[-1]["error"]
    assert agent.proc.poll() is None


def _null_value(db: Path, value: str) -> None:
    """What a person can do with sqlite3: a table without NOT NULL, then a NULL or a blob."""
    with sqlite3.connect(db) as con:
        con.executescript(
            "CREATE TABLE kv2 (key TEXT PRIMARY KEY, value TEXT);"
            "INSERT INTO kv2 SELECT * FROM kv; DROP TABLE kv; ALTER TABLE kv2 RENAME TO kv;"
            f"UPDATE kv SET value = {value} WHERE key = 'qv/{KEY}';"
        )


@pytest.mark.parametrize("value", ["NULL", "X'ff00'", "CAST(X'ff' AS TEXT)", "'not json'"])
def test_a_null_or_binary_value_is_drift_not_a_crash(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], value: str
) -> None:
    db = tmp_path / "state.db"
    url = f"sqlite:{db}"

    def qv(*argv: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [QV, "-C", str(repo), *argv, "--env", "dev", "--store", url],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "internal error" not in done.stderr
        return done

    assert qv("sync").returncode == 0
    _null_value(db, value)
    drift = qv("drift", "--format", "json")
    assert drift.returncode == 1, drift.stderr
    assert json.loads(drift.stdout)["out_of_band"]["modified"] == [KEY]
    assert qv("sync").returncode == 0  # the same digest: nothing to write, nothing broken
    assert qv("sync", "--heal").returncode == 0
    assert qv("drift").returncode == 0
    with sqlite3.connect(db) as con:
        con.execute(f"UPDATE kv SET value = {value} WHERE key = 'qv/{KEY}'")
    assert qv("drift").returncode == 1
    agent = spawn(tmp_path, *args(repo, url, "--self-heal"))
    h.wait_for(lambda: agent.events("healed"), what="healed by the agent")
    assert qv("drift").returncode == 0
    assert agent.proc.poll() is None


def _corrupt(mirror: Path, how: str) -> None:
    subprocess.run(["git", "repack", "-adq"], cwd=mirror, check=True)
    packs = mirror / "objects" / "pack"
    if how == "truncated pack":
        with next(packs.glob("*.pack")).open("r+b") as pack:
            pack.truncate(300)
    elif how == "deleted blobs":  # commits and trees stay: a fetch has nothing to fetch again
        blobs = subprocess.run(
            ["git", "cat-file", "--batch-all-objects", "--batch-check=%(objectname) %(objecttype)"],
            cwd=mirror,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        pack = next(packs.glob("*.pack")).read_bytes()
        for path in packs.iterdir():
            path.unlink()
        subprocess.run(["git", "unpack-objects", "-q"], cwd=mirror, input=pack, check=True)
        for line in blobs:
            if line.endswith(" blob"):
                (mirror / "objects" / line[:2] / line[2:40]).unlink()
    else:
        (mirror / "HEAD").write_text("garbage\n")


@pytest.mark.parametrize("how", ["truncated pack", "deleted blobs", "garbage HEAD"])
def test_a_damaged_mirror_is_recloned_and_the_agent_keeps_running(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any], how: str
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    mirror = tmp_path / "mirror"
    agent = spawn(tmp_path, *args(repo, url, "--cache-dir", str(mirror)))
    tip = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == tip, what="the first sync")
    _corrupt(mirror, how)
    rev = h.commit_notional(repo, 90000)  # rendering it reads the unchanged files' blobs
    h.wait_for(lambda: agent.events("mirror_corrupt"), what="the damage found")
    h.wait_for(lambda: agent.events("mirror_recloned"), what="cloned again")
    h.wait_for(lambda: h.deployed(url, tmp_path) == rev, what="the new commit applied")
    assert agent.metric("qv_agent_mirror_reclones_total") == 1
    assert agent.proc.poll() is None
    assert not list(tmp_path.glob(".damaged-*"))  # the damaged copy is gone

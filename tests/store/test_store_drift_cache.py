"""`qv drift` with the desired-state hash cache (.qv/cache/desired/) on a real Git project.

The cache matters when the tip's inputs differ from the deployed ones (a pending commit): with
equal inputs drift renders nothing at all (tests/store/test_store_drift_norender.py).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

import qv_config.cli.drift
import qv_config.cli.sync  # noqa: F401 - registers the commands on the app
from qv_config.cli.__main__ import main
from qv_config.store.desiredcache import STATS, folder

CONFIG = "environments/dev/configs/example-service.yaml"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def qv(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(root), *args])
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out


def drift(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], int]:
    """Exit code, JSON report and how many environments were rendered for it."""
    before = STATS.renders
    code, out = qv(root, capsys, "drift", "--env", "dev", "--format", "json")
    return code, json.loads(out), STATS.renders - before


def entries(root: Path) -> list[Path]:
    return sorted(folder(root).glob("*.qvc")) if folder(root).exists() else []


def synced(project: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(project), "sync", "--env", "dev"])
    out = capsys.readouterr()
    assert stop.value.code in (0, None), out.err
    return project


def pending_commit(project: Path) -> None:
    path = project / CONFIG
    path.write_text(path.read_text().replace("max_order_notional: 100000", "max_order_notional: 7"))
    git(project, "commit", "-qam", "notional 7")


def test_sync_writes_the_entry_and_a_pending_tip_is_rendered_once(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(project, capsys)
    assert len(entries(project)) == 1  # the synced revision's hashes
    pending_commit(project)
    code, cold, renders = drift(project, capsys)
    assert (code, renders) == (0, 1)
    assert len(entries(project)) == 2
    code, warm, renders = drift(project, capsys)
    assert (code, renders) == (0, 0)
    assert warm == cold
    assert (project / ".qv/.gitignore").exists()  # the cache never shows up in `git status`


def test_out_of_band_edit_is_seen_with_a_warm_cache(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(project, capsys)
    drift(project, capsys)
    with sqlite3.connect(project / ".qv/state.db") as conn:
        conn.execute("update kv set value='{}' where key='qv/dev/config/example-service'")
        conn.execute("insert into kv values ('qv/dev/flag/rogue', '{}')")
        conn.execute("delete from kv where key like 'qv/dev/flag/kill-%'")
    code, report, renders = drift(project, capsys)
    assert (code, renders) == (1, 0)
    assert report["out_of_band"] == {
        "modified": ["dev/config/example-service"],
        "missing": ["dev/flag/kill-example-momentum"],
        "unexpected": ["dev/flag/rogue"],
    }


def test_new_commit_is_pending_and_the_deployed_key_stays_cached(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(project, capsys)
    drift(project, capsys)
    pending_commit(project)
    code, report, renders = drift(project, capsys)
    assert (code, renders) == (0, 1)  # only the new tip: the deployed state is the store's index
    pending = report["pending"]
    assert isinstance(pending, dict)
    assert pending["changed"] == ["dev/config/example-service"]
    assert pending["added"] == pending["removed"] == []
    assert len(entries(project)) == 2
    code, again, renders = drift(project, capsys)
    assert (code, renders, again) == (0, 0, report)


def test_commit_outside_the_inputs_keeps_the_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(project, capsys)
    drift(project, capsys)
    (project / "README.md").write_text("notes\n")
    git(project, "add", "README.md")
    git(project, "commit", "-qm", "docs")
    code, report, renders = drift(project, capsys)
    assert (code, renders) == (0, 0)  # a new revision, the same effective configuration
    pending = report["pending"]
    assert isinstance(pending, dict)
    assert pending["revision"] == git(project, "rev-parse", "HEAD")  # the tip's own commit
    assert (pending["added"], pending["changed"], pending["removed"]) == ([], [], [])


@pytest.mark.parametrize(
    "damage", [b"", b"not a pack", b"\xe9\x00garbage" * 50, "truncate", "flip"]
)
def test_corrupt_entry_is_ignored_and_rewritten(
    project: Path, capsys: pytest.CaptureFixture[str], damage: bytes | str
) -> None:
    synced(project, capsys)
    shutil.rmtree(folder(project))
    pending_commit(project)
    _, cold, _ = drift(project, capsys)
    [entry] = entries(project)
    raw = entry.read_bytes()
    if damage == "truncate":
        junk = raw[: len(raw) // 2]
    elif damage == "flip":
        junk = raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:]
    else:
        assert isinstance(damage, bytes)
        junk = damage
    entry.write_bytes(junk)
    code, report, renders = drift(project, capsys)
    assert (code, renders, report) == (0, 1, cold)
    assert entry.read_bytes() == raw  # rewritten whole
    code, _, renders = drift(project, capsys)
    assert (code, renders) == (0, 0)


def test_tampered_hashes_are_not_trusted(
    project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import marshal

    from tests.sealing import machine

    from qv_config.cache import pack
    from qv_config.cache.pack import sealer

    synced(project, capsys)
    shutil.rmtree(folder(project))
    pending_commit(project)
    drift(project, capsys)
    [entry] = entries(project)
    name = f"desired/{entry.name}"
    blob = pack.read_one(entry, sealer(project, name), "state")
    assert blob is not None
    digest, hashes = marshal.loads(blob)
    hashes["dev/config/example-service"] = "0" * 64
    with machine(tmp_path / "another-key"):  # sealed, but not with this user's key
        pack.write(entry, sealer(project, name), {"state": marshal.dumps((digest, hashes))})
    code, report, renders = drift(project, capsys)
    assert (code, renders) == (0, 1)
    assert report["out_of_band"] == {"modified": [], "missing": [], "unexpected": []}
    pending = report["pending"]
    assert isinstance(pending, dict)
    assert pending["changed"] == ["dev/config/example-service"]


def test_deleting_the_cache_is_safe(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synced(project, capsys)
    pending_commit(project)
    _, cold, _ = drift(project, capsys)
    shutil.rmtree(project / ".qv/cache")
    code, report, renders = drift(project, capsys)
    assert (code, renders, report) == (0, 1, cold)


def test_bad_revision_still_fails_clearly(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synced(project, capsys)
    before = entries(project)
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(project), "drift", "--env", "dev", "--rev", "no-such-branch"])
    err = capsys.readouterr().err
    assert stop.value.code not in (0, None)
    assert "no-such-branch" in err
    assert "Traceback" not in err
    assert entries(project) == before


def test_environment_with_encrypted_files_is_never_cached(
    project: Path, capsys: pytest.CaptureFixture[str], encrypted_dev: Path
) -> None:
    synced(project, capsys)
    assert entries(project) == []  # sync does not cache it either
    (project / "environments/dev/configs/extra.yaml").write_text(
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: extra, owner: a}\nspec: {}\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-qm", "pending")
    for _ in range(2):
        code, report, renders = drift(project, capsys)
        assert (code, renders) == (0, 1)  # the pending tip: rendered (and decrypted) every time
        assert report["out_of_band"] == {"modified": [], "missing": [], "unexpected": []}
    assert entries(project) == []

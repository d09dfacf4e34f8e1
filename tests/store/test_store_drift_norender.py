"""`qv drift` renders nothing when the tip's inputs are the deployed ones (store/driftcheck.py).

Real Git projects, real SQLite / redis-server / etcd stores, the CLI end to end. Out-of-band
edits are made with each store's own client, as an operator would.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import qv_config.cli.drift
import qv_config.cli.sync  # noqa: F401 - registers the commands on the app
from qv_config.store import open_store
from qv_config.store.desiredcache import STATS, folder

CONFIG = "environments/dev/configs/example-service.yaml"
CLEAN: dict[str, list[str]] = {"modified": [], "missing": [], "unexpected": []}


def sync(root: Path, sh: Any, url: str) -> None:
    code, _, err = sh.qv(root, "sync", "--env", "dev", "--store", url)
    assert code == 0, err


def drift(root: Path, sh: Any, url: str) -> tuple[int, Any, int]:
    """Exit code, JSON report and how many environments were rendered for it."""
    before = STATS.renders
    code, out, err = sh.qv(root, "drift", "--env", "dev", "--store", url, "--format", "json")
    assert code in (0, 1), err
    assert out, err
    return code, json.loads(out), STATS.renders - before


def commit_change(root: Path, sh: Any, value: int) -> str:
    path = root / CONFIG
    path.write_text(
        path.read_text().replace("max_order_notional: 100000", f"max_order_notional: {value}")
    )
    sh.git(root, "commit", "-qam", f"notional {value}")
    return str(sh.git(root, "rev-parse", "HEAD"))


def add_config(root: Path, sh: Any, name: str, commit: bool = True) -> None:
    (root / f"environments/dev/configs/{name}.yaml").write_text(
        f"apiVersion: qv/v1\nkind: Config\nmetadata: {{name: {name}, owner: a}}\nspec: {{}}\n"
    )
    if commit:
        sh.git(root, "add", "-A")
        sh.git(root, "commit", "-qm", f"add {name}")


# ---- raw store access (what an operator's redis-cli / etcdctl / sqlite3 would do) -----------


def raw_get(url: str, root: Path, rel: str, sh: Any) -> bytes | None:
    store = open_store(url, root)
    key = f"{store.url.prefix}/{rel}"
    if url.startswith("sqlite"):
        with sqlite3.connect(store.url.path) as db:  # type: ignore[arg-type]
            row = db.execute("select value from kv where key=?", (key,)).fetchone()
        return None if row is None else str(row[0]).encode()
    if url.startswith("redis"):
        import redis

        value: Any = redis.Redis(port=store.url.port).get(key)
        return None if value is None else bytes(value)
    out = sh.etcdctl(store.url.port, "get", "--print-value-only", key)
    return out.rstrip("\n").encode() if out else None


def raw_set(url: str, root: Path, rel: str, value: bytes | None, sh: Any) -> None:
    """Write (or with None delete) ``P/{rel}`` behind qv's back."""
    store = open_store(url, root)
    key = f"{store.url.prefix}/{rel}"
    if url.startswith("sqlite"):
        with sqlite3.connect(store.url.path) as db:  # type: ignore[arg-type]
            db.execute("delete from kv where key=?", (key,))
            if value is not None:
                db.execute("insert into kv values (?, ?)", (key, value.decode()))
    elif url.startswith("redis"):
        import redis

        client = redis.Redis(port=store.url.port)
        client.delete(key) if value is None else client.set(key, value)
    elif value is None:
        sh.etcdctl(store.url.port, "del", key)
    else:
        sh.etcdctl(store.url.port, "put", key, value.decode())


def edit_out_of_band(url: str, root: Path, sh: Any) -> None:
    raw_set(url, root, "dev/config/example-service", b'{"edited":1}', sh)
    raw_set(url, root, "dev/flag/kill-example-momentum", None, sh)
    raw_set(url, root, "dev/flag/rogue", b"{}", sh)


def forget_inputs(url: str, root: Path, sh: Any) -> None:
    """Make ``_meta`` and the index's top look written by a qv before ``inputs`` existed (its
    top named only the digest)."""
    meta = json.loads(raw_get(url, root, "dev/_meta", sh) or b"{}")
    assert len(meta.pop("inputs")) == 64
    raw_set(url, root, "dev/_meta", json.dumps(meta, sort_keys=True).encode(), sh)
    top = json.loads(raw_get(url, root, "dev/_index", sh) or b"{}")
    del top["revision"], top["inputs"]
    raw_set(url, root, "dev/_index", json.dumps(top, sort_keys=True).encode(), sh)


def set_meta(url: str, root: Path, sh: Any, **fields: str) -> None:
    """Edit ``_meta`` behind qv's back (its index left as the last apply wrote it)."""
    meta = json.loads(raw_get(url, root, "dev/_meta", sh) or b"{}")
    raw_set(url, root, "dev/_meta", json.dumps({**meta, **fields}, sort_keys=True).encode(), sh)


# ---- the tests --------------------------------------------------------------------------------


def test_first_run_on_an_empty_qv_renders_nothing_and_finds_edits(
    project: Path, sh: Any, store_url: str
) -> None:
    sync(project, sh, store_url)
    shutil.rmtree(project / ".qv")  # a fresh checkout: no caches at all
    code, report, renders = drift(project, sh, store_url)
    assert (code, renders, report["out_of_band"]) == (0, 0, CLEAN)
    pending = report["pending"]
    assert pending["revision"] == sh.git(project, "rev-parse", "HEAD")
    assert pending["digest"] == report["recorded"]["digest"]
    assert (pending["added"], pending["changed"], pending["removed"]) == ([], [], [])
    edit_out_of_band(store_url, project, sh)
    code, report, renders = drift(project, sh, store_url)
    assert (code, renders) == (1, 0)
    assert report["out_of_band"] == {
        "modified": ["dev/config/example-service"],
        "missing": ["dev/flag/kill-example-momentum"],
        "unexpected": ["dev/flag/rogue"],
    }
    assert not (project / ".qv" / "cache" / "desired").exists()  # nothing rendered, nothing saved


def test_new_commit_renders_the_tip_once_and_reports_it_pending(
    project: Path, sh: Any, store_url: str
) -> None:
    sync(project, sh, store_url)
    tip = commit_change(project, sh, 7)
    shutil.rmtree(project / ".qv")
    edit_out_of_band(store_url, project, sh)
    code, report, renders = drift(project, sh, store_url)
    assert (code, renders) == (1, 1)  # the tip only: the deployed state comes from the index
    assert report["out_of_band"]["modified"] == ["dev/config/example-service"]
    pending = report["pending"]
    assert (pending["revision"], pending["changed"]) == (tip, ["dev/config/example-service"])
    assert pending["added"] == pending["removed"] == []
    code, again, renders = drift(project, sh, store_url)
    assert (code, renders, again) == (1, 0, report)  # the tip's hashes are cached now
    sync(project, sh, store_url)
    code, report, renders = drift(project, sh, store_url)
    assert (renders, report["pending"]["changed"]) == (0, [])


def test_store_written_by_an_older_qv_falls_back_to_rendering(
    project: Path, sh: Any, store_url: str
) -> None:
    sync(project, sh, store_url)
    _, expected, _ = drift(project, sh, store_url)
    forget_inputs(store_url, project, sh)
    (project / "README.md").write_text("notes\n")  # a new tip whose inputs did not change
    sh.git(project, "add", "README.md")
    sh.git(project, "commit", "-qm", "docs")
    shutil.rmtree(project / ".qv")
    code, report, renders = drift(project, sh, store_url)
    # No stamp to compare, no index bound to this _meta: the tip is rendered, and the recorded
    # revision (the same input key) is its cached hashes.
    assert (code, renders) == (0, 1)
    assert report["pending"]["changed"] == []
    assert report["out_of_band"] == expected["out_of_band"] == CLEAN
    raw_set(store_url, project, "dev/_index", None, sh)  # and no hash index either (the oldest qv)
    edit_out_of_band(store_url, project, sh)
    commit_change(project, sh, 7)
    shutil.rmtree(project / ".qv")
    code, report, renders = drift(project, sh, store_url)
    assert (code, renders) == (1, 2)  # the tip, and the deployed revision to compare with
    assert report["out_of_band"]["unexpected"] == ["dev/flag/rogue"]
    assert report["out_of_band"]["modified"] == ["dev/config/example-service"]
    assert report["pending"]["changed"] == ["dev/config/example-service"]


@pytest.mark.parametrize("field", ["revision", "inputs"])
def test_index_of_another_meta_is_not_trusted(
    project: Path, sh: Any, tmp_path: Path, field: str
) -> None:
    """The index holds the state rendered at ``_meta.revision`` (with ``_meta.inputs``): a
    ``_meta`` pointed elsewhere outside qv is not answered by it (before the fix: "no drift"
    and nothing pending, where the same store without its index gave DRIFT and pending)."""
    url = f"sqlite:{tmp_path}/state.db"
    sync(project, sh, url)
    deployed = sh.git(project, "rev-parse", "HEAD")
    sh.git(project, "checkout", "-qb", "other")
    other = commit_change(project, sh, 7)
    sh.git(project, "checkout", "-q", "-")
    stamp = json.loads(raw_get(url, project, "dev/_meta", sh) or b"{}")["inputs"]
    if field == "revision":
        set_meta(url, project, sh, revision=other)
    else:  # the stamp of the other commit's inputs: the tip would look undeployed-equal
        set_meta(url, project, sh, revision=other, inputs=stamp)
    shutil.rmtree(project / ".qv")
    code, report, renders = drift(project, sh, url)
    raw_set(url, project, "dev/_index", None, sh)  # the full path: every value compared
    shutil.rmtree(project / ".qv")
    full_code, full, _ = drift(project, sh, url)
    assert (code, report) == (full_code, full)
    assert (code, report["out_of_band"]["modified"]) == (1, ["dev/config/example-service"])
    assert report["pending"]["revision"] == deployed
    assert report["pending"]["changed"] == ["dev/config/example-service"]
    assert renders >= 1


def test_damaged_index_is_not_trusted(project: Path, sh: Any, tmp_path: Path) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    sync(project, sh, url)
    raw_set(url, project, "dev/_index/00", b'{"dev/config/example-service":"0"}', sh)
    shutil.rmtree(project / ".qv")
    code, report, renders = drift(project, sh, url)
    assert (code, renders, report["out_of_band"]) == (0, 1, CLEAN)  # rendered instead


def test_dirty_work_tree_does_not_change_the_answer(project: Path, sh: Any, tmp_path: Path) -> None:
    """Drift compares with commits (uncommitted edits are not deployable, as for sync): edited
    and untracked input files neither show as pending nor force a render."""
    url = f"sqlite:{tmp_path}/state.db"
    sync(project, sh, url)
    path = project / CONFIG
    path.write_text(path.read_text().replace("100000", "5"))
    add_config(project, sh, "extra", commit=False)
    code, report, renders = drift(project, sh, url)
    assert (code, renders, report["out_of_band"]) == (0, 0, CLEAN)
    assert report["pending"]["changed"] == report["pending"]["added"] == []
    sh.git(project, "add", "-A")
    sh.git(project, "commit", "-qm", "now committed")
    code, report, renders = drift(project, sh, url)
    assert (renders, report["pending"]["added"]) == (1, ["dev/config/extra"])
    assert report["pending"]["changed"] == ["dev/config/example-service"]


def test_secrets_environment_skips_the_render_and_writes_no_plaintext(
    project: Path,
    sh: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    encrypted_dev: Path,
) -> None:
    url = f"sqlite:{tmp_path}/state.db"  # the store holds plaintext by design: not under .qv/
    sync(project, sh, url)
    assert b"example-service.dev.internal" in (
        raw_get(url, project, "dev/config/example-service", sh) or b""
    )
    code, report, renders = drift(project, sh, url)
    assert (code, renders, report["out_of_band"]) == (0, 0, CLEAN)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE")  # no render, so no key needed
    raw_set(url, project, "dev/config/example-service", b'{"http":"https://evil"}', sh)
    code, report, renders = drift(project, sh, url)
    assert (code, renders, report["out_of_band"]["modified"]) == (
        1,
        0,
        ["dev/config/example-service"],
    )
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(encrypted_dev))
    add_config(project, sh, "extra")  # the encrypted file itself is left alone (its MAC)
    for _ in range(2):  # a pending change: decrypted and rendered every time, never cached
        code, report, renders = drift(project, sh, url)
        assert (renders, report["pending"]["added"]) == (1, ["dev/config/extra"])
    assert not folder(project).exists() or not list(folder(project).iterdir())
    for path in (project / ".qv").rglob("*"):
        if path.is_file():
            assert b"example-service.dev.internal" not in path.read_bytes(), path

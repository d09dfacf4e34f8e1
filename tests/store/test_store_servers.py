"""Per-server behaviour: layout read back by the real CLIs, minimal writes counted by the store,
transaction limits, SIGKILL during a large apply, bad credentials and unreachable stores."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qv_config.errors import UsageError
from qv_config.store import StoreError, TooLargeError, apply_desired, open_store
from qv_config.store.index import shard_count, shard_of
from qv_config.store.layout import decode_meta

ENV = "dev"


def vals(tag: str, n: int, size: int = 0) -> dict[str, bytes]:
    pad = "x" * size
    return {
        f"{ENV}/config/svc-{i:05d}": json.dumps(
            {"i": i, "pad": pad, "rev": tag}, sort_keys=True, separators=(",", ":")
        ).encode()
        for i in range(n)
    }


def apply(store: Any, rev: str, values: dict[str, bytes]) -> Any:
    from qv_config.store import DesiredState

    digest = "d" + str(abs(hash(tuple(sorted(values.items())))))
    return apply_desired(
        store,
        DesiredState(ENV, rev, digest, values),
        is_descendant=lambda a, b: int(a[1:]) <= int(b[1:]),
        applied_by="t@x",
    )


def test_sqlite_layout_read_by_sqlite3_and_minimal(tmp_path: Path) -> None:
    store: Any = open_store("sqlite:state.db", tmp_path)
    apply(store, "r1", vals("r1", 30))
    out = subprocess.run(
        ["sqlite3", str(tmp_path / "state.db"), "select value from kv where key='qv/dev/_meta'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out)["revision"] == "r1"
    one = {**vals("r1", 30), f"{ENV}/config/svc-00007": b'{"x":1}'}
    apply(store, "r2", one)
    # the key, _meta, the index top and the key's index shard, the audit row: sqlite3 changes()
    assert store.last_commit_changes == 5
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("select count(*) from audit").fetchone()[0] == 2


def test_redis_layout_read_by_redis_cli_and_minimal(redis_server: Any, tmp_path: Path) -> None:
    import redis

    url = f"{redis_server.url}?prefix=lay"
    store = open_store(url, tmp_path)
    apply(store, "r1", vals("r1", 30))
    cli = ["redis-cli", "-p", str(redis_server.port)]
    meta = subprocess.run(
        [*cli, "GET", "lay/dev/_meta"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(meta)["revision"] == "r1"
    got = subprocess.run(
        [*cli, "GET", "lay/dev/config/svc-00001"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(got)["i"] == 1
    assert (
        subprocess.run(
            [*cli, "XLEN", "lay/dev/_audit"], capture_output=True, text=True, check=True
        ).stdout.strip()
        == "1"
    )
    client = redis.Redis(port=redis_server.port)
    pubsub = client.pubsub()
    pubsub.subscribe("lay/dev/_events")
    pubsub.get_message(timeout=1)
    client.config_resetstat()
    apply(store, "r2", {**vals("r1", 30), f"{ENV}/config/svc-00007": b'{"x":1}'})
    stats = client.info("commandstats")
    assert stats["cmdstat_set"]["calls"] == 4  # the key, _meta, _index and one shard: no more
    assert "cmdstat_keys" not in stats  # planned from the index: no scan of the values
    assert "cmdstat_del" not in stats
    assert stats["cmdstat_xadd"]["calls"] == 2
    event = pubsub.get_message(timeout=2)
    assert event
    assert json.loads(event["data"])["revision"] == "r2"


def test_etcd_layout_read_by_etcdctl_and_minimal(etcd_server: Any, tmp_path: Path, sh: Any) -> None:
    store = open_store(f"{etcd_server.url}?prefix=lay", tmp_path)
    apply(store, "r1", vals("r1", 30))
    assert (
        json.loads(sh.etcdctl(etcd_server.port, "get", "--print-value-only", "lay/dev/_meta"))[
            "revision"
        ]
        == "r1"
    )
    assert "lay/dev/_audit/000000000001" in sh.etcdctl(
        etcd_server.port, "get", "--prefix", "--keys-only", "lay/dev/_audit/"
    )
    apply(store, "r2", {**vals("r1", 30), f"{ENV}/config/svc-00007": b'{"x":1}'})
    out = json.loads(sh.etcdctl(etcd_server.port, "get", "--prefix", "-w", "json", "lay/dev/"))
    newest = max(int(kv["mod_revision"]) for kv in out["kvs"])
    import base64

    touched = sorted(
        base64.b64decode(kv["key"]).decode()
        for kv in out["kvs"]
        if int(kv["mod_revision"]) == newest
    )
    assert touched == [
        "lay/dev/_audit/000000000002",
        "lay/dev/_index",
        f"lay/dev/_index/{shard_of(f'{ENV}/config/svc-00007', shard_count(30))}",
        "lay/dev/_meta",
        "lay/dev/config/svc-00007",
    ]


def test_etcd_over_max_txn_ops_refused_whole(
    fresh_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = fresh_server("etcd", max_txn_ops=16)
    store = open_store(server.url, tmp_path)
    apply(store, "r1", vals("r1", 10))
    with pytest.raises(TooLargeError, match="--max-txn-ops") as err:
        apply(store, "r2", vals("r2", 40))
    assert err.value.exit_code == 3
    assert {json.loads(v)["rev"] for v in store.read(ENV).values.values()} == {"r1"}
    assert len(store.read(ENV).values) == 10
    assert store.audit(ENV)[0].action == "refused"


@pytest.mark.parametrize("kind", ["redis", "etcd"])
def test_sigkill_during_large_apply_keeps_one_revision(
    kind: str, fresh_server: Callable[..., Any], tmp_path: Path
) -> None:
    options = {"max_txn_ops": 20000, "max_request_bytes": 64 << 20} if kind == "etcd" else {}
    server = fresh_server(kind, **options)
    store = open_store(server.url, tmp_path)
    apply(store, "r1", vals("r1", 4000, 200))
    errors: list[BaseException] = []

    def big() -> None:
        try:
            apply(open_store(server.url, tmp_path), "r2", vals("r2", 4000, 200))
        except StoreError as err:
            errors.append(err)

    thread = threading.Thread(target=big)
    thread.start()
    time.sleep(0.15)
    server.kill()
    thread.join()
    server.start()
    after = open_store(server.url, tmp_path).read(ENV)
    revs = {json.loads(v)["rev"] for v in after.values.values()}
    meta = decode_meta(after.meta_raw or b"", "k", "")
    assert revs == {meta.revision}
    assert len(after.values) == 4000


def test_wrong_password_and_unreachable_are_one_line_exit_3(
    fresh_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = fresh_server("redis", password="s3cret")
    bad = server.url.replace("s3cret", "wrong")
    with pytest.raises(StoreError, match="credentials") as err:
        open_store(bad, tmp_path)
    assert err.value.exit_code == 3
    assert "\n" not in str(err.value)
    assert "wrong" not in str(err.value)
    with pytest.raises(StoreError, match=r"cannot reach Redis at 127\.0\.0\.1:1"):
        open_store("redis://127.0.0.1:1/0", tmp_path)
    with pytest.raises(StoreError, match=r"cannot reach etcd at 127\.0\.0\.1:1"):
        open_store("etcd://127.0.0.1:1", tmp_path)


@pytest.mark.parametrize(
    "url",
    [
        "mongo://x:1",
        "redis://host/0",
        "redis://h:1/x",
        "sqlite:",
        "etcd://h:1/path",
        "sqlite:x.db?prefix=",
        "etcd://h:1?foo=1",
    ],
)
def test_malformed_urls_are_usage_errors(url: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="malformed") as err:
        open_store(url, tmp_path)
    assert err.value.exit_code == 2

"""The store layer on real SQLite, Redis and etcd: layout, atomic, fenced, minimal, monotonic."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from qv_config.store import (
    ApplyRefused,
    DesiredState,
    MetaCorruptError,
    apply_desired,
    open_store,
)
from qv_config.store.layout import decode_meta

ENV = "dev"


def values(tag: str, n: int, size: int = 0, env: str = ENV) -> dict[str, bytes]:
    pad = "x" * size
    return {
        f"{env}/config/svc-{i:05d}": json.dumps(
            {"i": i, "pad": pad, "rev": tag}, sort_keys=True, separators=(",", ":")
        ).encode()
        for i in range(n)
    }


def digest(desired: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for key in sorted(desired):
        h.update(key.encode() + b"\0" + hashlib.sha256(desired[key]).hexdigest().encode() + b"\n")
    return h.hexdigest()


def state(rev: str, vals: dict[str, bytes], env: str = ENV) -> DesiredState:
    return DesiredState(env, rev, digest(vals), vals)


def is_descendant(old: str, new: str) -> bool:
    return int(old[1:]) <= int(new[1:])


def apply(store: object, desired: DesiredState, **kw: object):  # type: ignore[no-untyped-def]
    return apply_desired(store, desired, is_descendant=is_descendant, applied_by="t@x", **kw)  # type: ignore[arg-type]


def test_apply_roundtrip_unchanged_and_minimal_plan(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    first = apply(store, state("r1", values("r1", 50)))
    assert first.status == "applied"
    assert len(first.plan.added) == 50
    assert first.old is None
    read = store.read(ENV)
    assert dict(read.values) == values("r1", 50)
    again = apply(store, state("r2", values("r1", 50)))
    assert again.status == "unchanged"
    nxt = values("r1", 49)
    nxt[f"{ENV}/config/svc-00003"] = b'{"changed":true}'
    result = apply(store, state("r3", nxt))
    assert (result.plan.changed, result.plan.deletes) == (
        (f"{ENV}/config/svc-00003",),
        (f"{ENV}/config/svc-00049",),
    )
    assert dict(store.read(ENV).values) == nxt
    log = store.audit(ENV)
    assert [e.action for e in log] == ["apply", "apply"]
    assert (log[0].revision, log[0].from_revision, log[0].changed, log[0].removed) == (
        "r3",
        "r1",
        1,
        1,
    )
    meta = decode_meta(store.read(ENV).meta_raw or b"", "k", "")
    assert (meta.revision, meta.digest, meta.applied_by) == ("r3", digest(nxt), "t@x")
    store.close()


def test_monotonic_refusal_is_audited(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    apply(store, state("r5", values("r5", 5)))
    with pytest.raises(ApplyRefused, match="not a descendant") as err:
        apply(store, state("r4", values("r4", 5)))
    assert err.value.exit_code == 1
    assert "qv rollback" in str(err.value)
    log = store.audit(ENV)
    assert log[0].action == "refused"
    assert log[0].revision == "r4"
    assert log[0].from_revision == "r5"
    assert dict(store.read(ENV).values) == values("r5", 5)
    rolled = apply(store, state("r4", values("r4", 5)), action="rollback", reason="bad")
    assert rolled.status == "applied"
    assert store.audit(ENV, 1)[0].reason == "bad"


def test_dry_run_writes_nothing(store_url: str, tmp_path: Path) -> None:
    store = open_store(store_url, tmp_path)
    result = apply(store, state("r1", values("r1", 3)), dry_run=True)
    assert result.status == "dry-run"
    assert len(result.plan.added) == 3
    assert store.read(ENV).meta_raw is None
    assert store.audit(ENV) == []


def test_atomic_reader_never_sees_a_mix(store_url: str, tmp_path: Path) -> None:
    writer, reader = open_store(store_url, tmp_path), open_store(store_url, tmp_path)
    n = 1500
    apply(writer, state("r1", values("r1", n)))
    stop, seen, bad = threading.Event(), [0], []

    def poll() -> None:
        while not stop.is_set():
            snap = reader.read(ENV)
            revs = {json.loads(v)["rev"] for v in snap.values.values()}
            meta = decode_meta(snap.meta_raw or b"", "k", "")
            if len(revs) != 1 or revs != {meta.revision} or len(snap.values) != n:
                bad.append((revs, meta.revision, len(snap.values)))
            seen[0] += 1

    thread = threading.Thread(target=poll)
    thread.start()
    for i in range(2, 7):
        apply(writer, state(f"r{i}", values(f"r{i}", n)))
    stop.set()
    thread.join()
    assert not bad
    assert seen[0] > 0


def test_fenced_racing_writers_never_interleave(store_url: str, tmp_path: Path) -> None:
    stores = [open_store(store_url, tmp_path) for _ in range(2)]
    errors: list[BaseException] = []

    def run(store: object) -> None:
        for i in range(1, 16):
            try:
                apply(store, state(f"r{i}", values(f"r{i}", 40)))
            except ApplyRefused:
                pass  # the other writer already went further: refused, never interleaved
            except BaseException as err:
                errors.append(err)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    applied = [e for e in reversed(stores[0].audit(ENV)) if e.action == "apply"]
    revs = [e.revision for e in applied]
    assert len(revs) == len(set(revs)), revs  # each revision applied once
    assert [int(r[1:]) for r in revs] == sorted(int(r[1:]) for r in revs)
    for prev, cur in itertools.pairwise(applied):
        assert cur.from_revision == prev.revision  # each apply based on the one before it
    assert dict(stores[0].read(ENV).values) == values("r15", 40)


def test_unparseable_meta_is_refused(store_url: str, tmp_path: Path, sh: Any) -> None:
    store = open_store(store_url, tmp_path)
    apply(store, state("r1", values("r1", 2)))
    _overwrite_meta(store_url, tmp_path, b"{not json", sh)
    with pytest.raises(MetaCorruptError) as err:
        apply(store, state("r2", values("r2", 2)))
    text = str(err.value)
    assert err.value.exit_code == 3
    assert "/dev/_meta" in text
    assert "repair" in text


def _overwrite_meta(url: str, root: Path, raw: bytes, sh: Any) -> None:
    store = open_store(url, root)
    prefix = store.url.prefix
    key = f"{prefix}/{ENV}/_meta"
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(store.url.path) as db:  # type: ignore[arg-type]
            db.execute("update kv set value=? where key=?", (raw.decode(), key))
    elif url.startswith("redis"):
        import redis

        redis.Redis(port=store.url.port).set(key, raw)
    else:
        sh.etcdctl(store.url.port, "put", key, raw.decode())

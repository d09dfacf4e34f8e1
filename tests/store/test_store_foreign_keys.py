"""Every key under an environment's prefix that qv did not write is "unexpected" to `qv drift`,
whatever its shape (an extra "/", an unknown kind, an empty name, a leading "_"), in SQLite,
Redis and etcd; `qv sync --heal` and the agent's `--self-heal` remove them, and qv's own keys
(``_meta``, ``_index`` and its shards, the audit log, ``_lease``) are never touched.
Real stores, written behind qv's back with each store's own client."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.output.hostile import HOSTILE

from qv_config.store.url import parse_store_url


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: no store's key
        return False
    return True


# Relative to the store prefix; each one a key qv never writes.
FOREIGN = [
    "dev/flag/a/b",
    "dev/unknown-kind/x",
    "dev/flag/",
    "dev/config",
    "dev/",
    "dev/_x",
    "dev/_meta/x",
    "dev/_index/zz",
    "dev/_indexes",
    "dev/config/example-service/extra",
    *(f"dev/flag/{text}" for text in HOSTILE.values() if "\0" not in text and _utf8(text)),
]


def _put(url: str, root: Path, rel: str, sh: Any) -> None:
    parsed = parse_store_url(url, root)
    key = f"{parsed.prefix}/{rel}"
    raw = key.encode("utf-8", "surrogateescape")  # a surrogate: a byte that is not UTF-8
    if parsed.scheme == "sqlite":
        with sqlite3.connect(parsed.path) as db:  # type: ignore[arg-type]
            db.execute("insert into kv values (CAST(? AS TEXT), '{}')", (raw,))
    elif parsed.scheme == "redis":
        import redis

        redis.Redis(port=parsed.port).set(raw, "{}")
    else:
        sh.etcdctl(parsed.port, "put", "--", key, "{}")


def _keys(url: str, root: Path, sh: Any) -> set[str]:
    """Every key under ``P/dev/`` as the store's own client lists it."""
    parsed = parse_store_url(url, root)
    base = f"{parsed.prefix}/dev/"
    if parsed.scheme == "sqlite":
        with sqlite3.connect(parsed.path) as db:  # type: ignore[arg-type]
            rows = db.execute("select key from kv where substr(key, 1, ?) = ?", (len(base), base))
            found = {row[0] for row in rows}
    elif parsed.scheme == "redis":
        import redis

        found = {k.decode() for k in redis.Redis(port=parsed.port).scan_iter(match=base + "*")}
    else:
        out = sh.etcdctl(parsed.port, "get", "--prefix", "--keys-only", "--", base)
        found = {line for line in out.split("\n") if line}
    return {key[len(parsed.prefix) + 1 :] for key in found}


def _drift(project: Path, url: str, sh: Any) -> tuple[int, Any]:
    code, out, err = sh.qv(project, "drift", "--env", "dev", "--store", url, "--format", "json")
    assert code in (0, 1), err
    return code, json.loads(out)["out_of_band"]


def test_every_foreign_key_is_unexpected_and_healed(project: Path, store_url: str, sh: Any) -> None:
    assert sh.qv(project, "sync", "--env", "dev", "--store", store_url)[0] == 0
    own = _keys(store_url, project, sh)
    for rel in FOREIGN:
        _put(store_url, project, rel, sh)
    code, found = _drift(project, store_url, sh)
    assert code == 1
    assert set(found["unexpected"]) == set(FOREIGN)
    assert found["modified"] == found["missing"] == []
    code, _, err = sh.qv(project, "sync", "--env", "dev", "--store", store_url, "--heal")
    assert code == 0, err
    assert _drift(project, store_url, sh) == (0, {"modified": [], "missing": [], "unexpected": []})
    left = _keys(store_url, project, sh)
    assert not left & set(FOREIGN)
    assert {key for key in own if "/_" not in key} <= left  # the values are all still there
    assert any(key.startswith("dev/_index") for key in left)  # and qv's own keys too


def test_the_agent_self_heal_removes_them(project: Path, store_url: str, sh: Any) -> None:
    sh.git(project, "branch", "-M", "main")
    env = {**os.environ, "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "qv_config.cli.agent", "agent", "--once", "--env", "dev"]
    argv += ["--source", str(project), "--store", store_url, "--self-heal"]
    cwd = project.parent
    first = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    for rel in FOREIGN[:6]:
        _put(store_url, project, rel, sh)
    healed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert healed.returncode == 0, healed.stderr
    assert '"healed"' in healed.stderr
    assert not _keys(store_url, project, sh) & set(FOREIGN[:6])


# A key whose bytes are not UTF-8 (b"...\x1b[31m\xff"), as qv reads it: the byte as a surrogate.
NOT_UTF8 = "dev/flag/\x1b[31m" + b"\xff".decode("utf-8", "surrogateescape")


def test_a_key_that_is_not_utf8_is_unexpected_drift_escaped_and_healed(
    project: Path, store_url: str, sh: Any
) -> None:
    assert sh.qv(project, "sync", "--env", "dev", "--store", store_url)[0] == 0
    _put(store_url, project, NOT_UTF8, sh)
    code, out, err = sh.qv(project, "drift", "--env", "dev", "--store", store_url)
    assert code == 1, err
    assert "unexpected dev/flag/\\x1b[31m\\xff" in out  # escaped: no raw escape sequence
    assert "\x1b" not in out
    assert _drift(project, store_url, sh) == (
        1,
        {"modified": [], "missing": [], "unexpected": [NOT_UTF8]},
    )
    code, _, err = sh.qv(project, "sync", "--env", "dev", "--store", store_url, "--heal")
    assert code == 0, err
    assert _drift(project, store_url, sh) == (0, {"modified": [], "missing": [], "unexpected": []})


def test_the_agent_self_heal_removes_a_key_that_is_not_utf8(
    project: Path, store_url: str, sh: Any
) -> None:
    sh.git(project, "branch", "-M", "main")
    env = {**os.environ, "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "qv_config.cli.agent", "agent", "--once", "--env", "dev"]
    argv += ["--source", str(project), "--store", store_url]
    run = lambda *more: subprocess.run(  # noqa: E731
        [*argv, *more], cwd=project.parent, capture_output=True, text=True, env=env, check=False
    )
    assert run().returncode == 0
    _put(store_url, project, NOT_UTF8, sh)
    healed = run("--self-heal")
    assert healed.returncode == 0, healed.stderr
    assert '"healed"' in healed.stderr
    assert _drift(project, store_url, sh) == (0, {"modified": [], "missing": [], "unexpected": []})

"""The client against real faults: a bad state in the store, the store killed and restarted,
etcd's history compacted under a frozen client, and readers racing applies."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from qv_config.client import ConfigClient

CHILD = Path(__file__).resolve().parent / "follow_child.py"


@pytest.mark.parametrize("bad", ["not json", "a wrong digest"])
def test_a_bad_state_is_refused_and_the_last_good_one_kept(
    store_url: str, tmp_path: Path, writer: Any, h: Any, client_log: Any, bad: str
) -> None:
    good = writer.apply(dict([h.config("oms", limit=5)]))
    with ConfigClient(store_url, h.ENV, root=tmp_path, check_interval=0.5) as client:
        values = dict([h.config("oms", limit=6)])
        if bad == "not json":
            values["dev/config/oms"] = b'{"spec": {"limit": 6'
        writer.apply(values, bad_digest=bad == "a wrong digest")
        h.wait_for(lambda: client.stale, what="the refusal")
        assert client.revision == good
        assert client.get("Config", "oms")["spec"] == {"limit": 5}
        refused = [line for line in client_log() if "refused a state" in line]
        assert len(refused) == 1, "one line per state refused, not one per check"
        why = "not JSON" if bad == "not json" else "do not match the digest of its _meta"
        assert why in refused[0]
        assert "serving 0000" in refused[0]
        assert "limit" not in refused[0]  # names the key, never the value
        fixed = writer.apply(dict([h.config("oms", limit=7)]))
        h.wait_for(lambda: client.revision == fixed, what="the next good state")
        assert not client.stale
        assert client.get("Config", "oms")["spec"] == {"limit": 7}


def test_a_refusal_names_a_hostile_key_escaped(
    store_url: str, tmp_path: Path, writer: Any, h: Any, client_log: Any
) -> None:
    # Whatever bytes someone wrote into a key reach the log line of qv serve and the agent only
    # escaped: no terminal escape, no bidi override.
    writer.apply(dict([h.config("oms", limit=5)]))
    with ConfigClient(store_url, h.ENV, root=tmp_path, check_interval=0.5) as client:
        values = dict([h.config("oms", limit=6)])
        values["dev/config/\u202ex\x1b[31mred"] = b'{"not json'
        writer.apply(values)
        h.wait_for(lambda: client.stale, what="the refusal")
        (refused,) = [line for line in client_log() if "refused a state" in line]
        assert "\x1b" not in refused
        assert "\u202e" not in refused
        assert "\\x1b[31mred" in refused


@pytest.mark.parametrize("kind", ["redis", "etcd"])
def test_store_killed_then_restarted_client_is_stale_then_catches_up(
    tmp_path: Path, fresh_server: Any, h: Any, client_log: Any, kind: str
) -> None:
    server = fresh_server(kind)
    url = f"{server.url}?prefix=qv"
    writer = h.Writer(url, tmp_path)
    first = writer.apply(dict([h.config("oms", limit=1)]))
    time.sleep(1.2)  # redis: appendfsync everysec, so the state is on disk before the kill
    client = ConfigClient(url, h.ENV, root=tmp_path, check_interval=0.5, max_backoff=0.5)
    with client:
        server.kill()
        h.wait_for(lambda: client.stale, timeout=15, what="the client to notice")
        assert client.get("Config", "oms")["spec"] == {"limit": 1}  # last known good
        assert client.revision == first
        time.sleep(1)  # a few reconnects fail meanwhile: still one log line
        server.start()
        second = writer.apply(dict([h.config("oms", limit=2)]))
        h.wait_for(lambda: client.revision == second, timeout=15, what="the catch-up")
        h.wait_for(lambda: not client.stale, what="fresh again")
    lines = client_log()
    assert len([x for x in lines if "unreachable" in x]) == 1
    assert any("answers again" in x for x in lines)


def test_sqlite_file_gone_then_back(tmp_path: Path, h: Any, client_log: Any) -> None:
    path = tmp_path / "state.db"
    writer = h.Writer(f"sqlite:{path}", tmp_path)
    writer.apply(dict([h.config("oms", limit=1)]))
    with ConfigClient(f"sqlite:{path}", h.ENV, root=tmp_path, max_backoff=0.3) as client:
        away = tmp_path / "away.db"
        path.rename(away)
        h.wait_for(lambda: client.stale, what="the client to notice")
        assert client.get("Config", "oms")["spec"] == {"limit": 1}
        away.rename(path)
        second = writer.apply(dict([h.config("oms", limit=2)]))
        h.wait_for(lambda: client.revision == second and not client.stale, what="catch-up")
    assert any("was deleted while qv had it open" in x for x in client_log())


class Child:
    """follow_child.py in its own process, its JSON lines read by a thread."""

    def __init__(self, url: str, root: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), url, "dev", str(root)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait(self, test: Any, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if test(line):
                return line
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.append(line)
            if test(line):
                return line
        raise AssertionError(f"no such line in {timeout} s; seen: {self.seen}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGCONT)
        self.proc.kill()
        self.proc.wait(10)


def _etcdctl(port: int, *args: str) -> str:
    out = subprocess.run(
        ["etcdctl", f"--endpoints=127.0.0.1:{port}", "-w", "json", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "ETCDCTL_API": "3"},
    )
    return out.stdout


def test_etcd_history_compacted_under_a_frozen_client_resyncs(
    tmp_path: Path, fresh_server: Any, h: Any
) -> None:
    server = fresh_server("etcd")
    url = f"{server.url}?prefix=qv"
    writer = h.Writer(url, tmp_path)
    writer.apply(dict([h.config("oms", limit=1)]))
    child = Child(url, tmp_path)
    try:
        child.wait(lambda x: x.get("event") == "ready")
        # Frozen with its watch open: etcd restarts (the stream dies), an apply and other
        # writes land, and the history the watch would resume from is compacted away.
        child.proc.send_signal(signal.SIGSTOP)
        server.stop()
        server.start()
        second = writer.apply(dict([h.config("oms", limit=2)]))
        for i in range(5):
            _etcdctl(server.port, "put", f"elsewhere/{i}", "x")
        revision = json.loads(_etcdctl(server.port, "get", "elsewhere/4"))["header"]["revision"]
        _etcdctl(server.port, "compact", str(revision))
        child.proc.send_signal(signal.SIGCONT)
        child.wait(lambda x: x.get("event") == "updated" and x["revision"] == second)
        child.wait(lambda x: "change events lost" in x.get("message", ""))
        child.wait(lambda x: "compacted" in x.get("message", ""))
        third = writer.apply(dict([h.config("oms", limit=3)]))  # still following
        child.wait(lambda x: x.get("event") == "updated" and x["revision"] == third, timeout=5)
    finally:
        child.stop()


def test_a_reader_never_sees_a_mix_of_two_applies(
    store_url: str, tmp_path: Path, writer: Any, h: Any
) -> None:
    writer.apply(h.configs("0", 40))
    mixes: list[set[str]] = []
    seen: set[str] = set()
    done = threading.Event()
    with ConfigClient(store_url, h.ENV, root=tmp_path) as client:

        def read() -> None:
            while not done.is_set():
                snapshot = client.snapshot
                tags = {
                    doc["spec"]["rev"]
                    for (kind, _), doc in snapshot.docs.items()
                    if kind == "Config"
                }
                seen.update(tags)
                if len(tags) != 1:
                    mixes.append(tags)

        readers = [threading.Thread(target=read) for _ in range(2)]
        for reader in readers:
            reader.start()
        for n in range(1, 16):
            last = writer.apply(h.configs(str(n), 40))
            time.sleep(0.02)
        h.wait_for(lambda: client.revision == last, what="the last apply")
        done.set()
        for reader in readers:
            reader.join()
    assert not mixes, f"a reader saw documents of several applies at once: {mixes[:3]}"
    assert len(seen) > 3, "the readers ran while the applies happened"

"""Fixtures of the agent tests (server fixtures come from tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

_servers = sys.modules["qv_test_servers"]  # loaded by tests/conftest.py

CONFIG = "environments/dev/configs/example-service.yaml"
PYTHON = sys.executable


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(root: Path) -> Path:
    from tests.gated import starter_repo

    return starter_repo(root)


def commit_notional(root: Path, value: int) -> str:
    """A commit that changes dev's effective configuration (one key)."""
    path = root / CONFIG
    text = path.read_text()
    start = text.index("max_order_notional: ") + len("max_order_notional: ")
    end = text.index("\n", start)
    path.write_text(text[:start] + str(value) + text[end:])
    git(root, "commit", "-qam", f"notional {value}")
    return git(root, "rev-parse", "HEAD")


def wait_for(predicate: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.1)


def deployed(url: str, root: Path, env: str = "dev") -> str | None:
    from qv_config.store import open_store
    from qv_config.store.apply import read_meta

    store = open_store(url, root)
    try:
        meta = read_meta(store, env, store.read_index(env).meta_raw)
    finally:
        store.close()
    return meta.revision if meta else None


def audit(url: str, root: Path, env: str = "dev") -> list[Any]:
    from qv_config.store import open_store

    store = open_store(url, root)
    try:
        return list(reversed(store.audit(env)))  # oldest first
    finally:
        store.close()


@dataclass
class AgentProc:
    proc: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int | None = None
    args: list[str] = field(default_factory=list)

    def logs(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text().splitlines() if self.log_path.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [rec for rec in self.logs() if rec["event"] == name]

    def get(self, path: str) -> tuple[int, str]:
        import httpx

        r = httpx.get(f"http://127.0.0.1:{self.metrics_port}{path}", timeout=5)
        return r.status_code, r.text

    def metric(self, name: str) -> float | None:
        """The value of one sample line of /metrics (``name`` includes labels if any)."""
        try:
            _, text = self.get("/metrics")
        except Exception:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or (line.startswith(name + "{") and name.endswith("}")):
                return float(line.rsplit(" ", 1)[1])
        return None


def agent_argv(*args: str) -> list[str]:
    return [PYTHON, "-m", "qv_config.cli.agent", "agent", *args]


def run_once(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        agent_argv("--once", *args),
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., AgentProc]]:
    """Start ``qv agent`` as a real process (JSON logs to a file); stopped after the test."""
    started: list[AgentProc] = []
    free = _servers.free_port  # type: ignore[attr-defined]

    def start(cwd: Path, *args: str, metrics: bool = True) -> AgentProc:
        port = free() if metrics else None
        argv = agent_argv(*args, *(["--metrics-port", str(port)] if port else []))
        log_path = tmp_path / f"agent{len(started)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)
        agent = AgentProc(proc, log_path, port, argv)
        started.append(agent)
        if port:
            wait_for(lambda: _listening(port), 20, "the metrics port")
        return agent

    yield start
    for agent in started:
        if agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait(10)


def _listening(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture
def h() -> Any:
    """The helpers above, for test modules (conftest is not importable by name here)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        git=git,
        make_repo=make_repo,
        commit_notional=commit_notional,
        wait_for=wait_for,
        deployed=deployed,
        audit=audit,
        run_once=run_once,
        CONFIG=CONFIG,
    )

"""The change feed waits for the next apply: a long poll and Server-Sent Events, in process and
from a real `qv serve`, and the document served afterwards is the new one."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from qv_config.client import ConfigClient
from qv_config.serve import Settings, create_app
from tests.flags.conftest import copy_project
from tests.serve.conftest import ENV, start_serve, sync


def _edit_and_commit(root: Path) -> None:
    import subprocess

    path = root / "environments/dev/flags"
    target = sorted(path.glob("*.yaml"))[0]
    target.write_text(target.read_text().replace("enabled: true", "enabled: false", 1))
    subprocess.run(["git", "commit", "-qam", "a flag off"], cwd=root, check=True)


def test_a_long_poll_returns_at_the_next_apply(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "repo")
    url = f"sqlite:{tmp_path / 'state.db'}"
    sync(root, url)
    live = start_serve(root, url)
    try:
        first = httpx.get(f"{live.base}/v1/dev/events", params={"since": "x"}).json()
        assert first["updated"] is True  # `since` is not what is served: at once
        since = first["revision"]
        quick = httpx.get(f"{live.base}/v1/dev/events", params={"since": since, "wait": 0.2})
        assert quick.json()["updated"] is False
        assert quick.json()["revision"] == since
        got: dict[str, object] = {}

        def poll() -> None:
            got.update(
                httpx.get(
                    f"{live.base}/v1/dev/events", params={"since": since, "wait": 30}, timeout=40
                ).json()
            )

        waiter = threading.Thread(target=poll)
        waiter.start()
        _edit_and_commit(root)
        sync(root, url)
        waiter.join(40)
        assert got["updated"] is True
        assert got["revision"] != since
        assert got["previous_revision"] == since
        assert any(str(k).startswith("dev/flag/") for k in got["changed"])  # type: ignore[attr-defined]
        meta = httpx.get(f"{live.base}/v1/dev").json()
        assert meta["revision"] == got["revision"]
    finally:
        log = live.stop()
    assert '"path":"/v1/dev/events"' in log


def test_server_sent_events_announce_each_apply(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "repo")
    url = f"sqlite:{tmp_path / 'state.db'}"
    sync(root, url)
    live = start_serve(root, url)
    events: list[str] = []
    try:
        with httpx.stream(
            "GET", f"{live.base}/v1/dev/events", headers={"accept": "text/event-stream"}, timeout=40
        ) as stream:
            lines = stream.iter_lines()
            for line in lines:
                if line.startswith("event:"):
                    events.append(line)
                    break
            _edit_and_commit(root)
            sync(root, url)
            for line in lines:
                if line.startswith("event:"):
                    events.append(line)
                    break
    finally:
        live.stop()
    assert events == ["event: state", "event: apply"]


def test_the_app_unsubscribes_when_it_shuts_down(tmp_path: Path) -> None:
    import asyncio

    root = copy_project(tmp_path / "repo")
    url = f"sqlite:{tmp_path / 'state.db'}"
    sync(root, url)
    with ConfigClient(url, ENV, root=root) as client:
        app = create_app(client, Settings(ENV))

        async def lifespan() -> None:
            sent: list[dict[str, object]] = []
            queue = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

            async def receive() -> dict[str, object]:
                return queue.pop(0)

            async def send(message: dict[str, object]) -> None:
                sent.append(message)

            await app({"type": "lifespan", "state": {}}, receive, send)  # type: ignore[arg-type]

        before = len(client._subscribers)
        asyncio.run(lifespan())
        assert len(client._subscribers) == before - 1

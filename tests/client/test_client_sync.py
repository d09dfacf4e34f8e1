"""End to end: what `qv sync` writes is what ConfigClient serves, on every store, and a second
`qv sync` reaches a running client without a restart."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.inprocess import run_qv
from tests.starter import committed_starter

from qv_config.client import ConfigClient


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return committed_starter(tmp_path / "proj")


def test_qv_sync_then_the_client_serves_every_rendered_document(
    store_url: str, project: Path, capsys: pytest.CaptureFixture[str], h: Any
) -> None:
    assert run_qv(capsys, project, "sync", "--env", "dev", "--store", store_url).code == 0
    rendered = run_qv(capsys, project, "render", "--env", "dev", "--format", "json")
    docs = json.loads(rendered.out)
    docs = docs if isinstance(docs, list) else list(docs.values())
    with ConfigClient(store_url, "dev", root=project) as client:
        assert docs
        for doc in docs:
            assert copy.deepcopy(client.get(doc["kind"], doc["metadata"]["name"])) == doc
        flag = next(d for d in docs if d["kind"] == "Flag")
        assert client.has_flag(flag["metadata"]["name"])
        before = client.revision
        path = next((project / "environments/dev/flags").glob("*.yaml"))
        path.write_text(path.read_text().replace("enabled: true", "enabled: false"))
        _git(project, "commit", "-qam", "flag off")
        assert run_qv(capsys, project, "sync", "--env", "dev", "--store", store_url).code == 0
        h.wait_for(lambda: client.revision != before, what="the second sync")
        assert not client.is_enabled(flag["metadata"]["name"])

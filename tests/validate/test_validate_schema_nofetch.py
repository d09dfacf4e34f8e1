"""A service schema's remote ``$ref`` is never fetched: validation touches no network and no file
outside the repository (a local HTTP server counts requests)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qv_config.scaffold import write_starter

QV = str(Path(sys.executable).with_name("qv"))
SCHEMA = "schemas/configs/example-service.schema.json"


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 - shared by the server's handler instances

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Counter.hits.clear()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def _with_region_ref(root: Path, ref: str) -> None:
    write_starter(root)
    path = root / SCHEMA
    schema = json.loads(path.read_text())
    schema["properties"]["region"] = {"$ref": ref}
    path.write_text(json.dumps(schema))


def _validate(root: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [QV, "-C", str(root), "validate", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr
    findings: list[dict[str, object]] = json.loads(done.stdout)["findings"]
    return findings


@pytest.mark.parametrize("ref", ["{url}/region.json", "file:///etc/hostname", "other.json"])
def test_a_remote_ref_is_refused_not_fetched(tmp_path: Path, server: str, ref: str) -> None:
    _with_region_ref(tmp_path, ref.format(url=server))
    for _ in range(2):  # cold, then with whatever the first run cached
        found = [f for f in _validate(tmp_path) if f["code"] == "QV311"]
        assert found  # once per environment using the schema
        assert {f["file"] for f in found} == {SCHEMA}
        assert all("fetches nothing" in str(f["message"]) for f in found)
    assert _Counter.hits == []


@pytest.mark.parametrize("ref", ["#/$defs/nothing", "#no-such-anchor"])
def test_a_local_ref_to_nothing_is_an_invalid_schema(tmp_path: Path, ref: str) -> None:
    _with_region_ref(tmp_path, ref)
    found = [f for f in _validate(tmp_path) if f["code"] in ("QV310", "QV311")]
    assert found
    assert {f["code"] for f in found} == {"QV311"}  # the schema's fault, not the document's
    assert {f["file"] for f in found} == {SCHEMA}
    assert all("resolves to nothing" in str(f["message"]) for f in found)

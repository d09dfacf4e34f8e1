"""What the agent's JSON logs, `/healthz` and audit entries may hold: no value of a document
(a refused state is named by the places and codes of its findings, whose messages quote values),
and every text escaped and bounded like everything else qv prints (qv_config.safetext)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from qv_config.agent.health import Health
from qv_config.agent.jsonlog import JsonLog
from qv_config.safetext import MESSAGE

FLAG = "environments/dev/flags/kill-example-momentum.yaml"
# A value of the document that its findings quote: QV408 "integer 98765… is outside the 64-bit
# range", and the schema's "… is not of type 'string'".
VALUE = "98765432109876543210987"


def _commit_value(repo: Path, h: Any) -> str:
    path = repo / FLAG
    path.write_text(path.read_text().replace("spec:\n", f"spec:\n  description: {VALUE}\n", 1))
    h.git(repo, "commit", "-qam", "a description no reader accepts")
    return str(h.git(repo, "rev-parse", "HEAD"))


def test_a_refused_state_is_logged_by_place_never_by_value(
    tmp_path: Path, h: Any, spawn: Any
) -> None:
    repo = h.make_repo(tmp_path / "repo")
    url = f"sqlite:{tmp_path}/state.db"
    args = ("--env", "dev", "--source", str(repo), "--store", url)
    assert h.run_once(tmp_path, *args).returncode == 0
    _commit_value(repo, h)
    once = h.run_once(tmp_path, *args)
    assert once.returncode == 1
    assert VALUE not in once.stderr
    refused = [json.loads(line) for line in once.stderr.splitlines() if '"refused"' in line]
    assert refused, once.stderr
    assert f"{FLAG}:" in refused[0]["reason"]
    assert "QV408 at spec.description" in refused[0]["reason"]
    assert "qv: error:" in once.stderr  # --once ends with one human line, value-free too
    last = h.audit(url, tmp_path)[-1]
    assert last.action == "refused"
    assert VALUE not in last.reason
    assert "QV408" in last.reason

    agent = spawn(tmp_path, *args, "--interval", "0.3")
    error = h.wait_for(
        lambda: json.loads(agent.get("/healthz")[1])["last_error"], what="/healthz failing"
    )
    assert "QV408" in error
    assert VALUE not in agent.get("/healthz")[1]
    assert VALUE not in agent.log_path.read_text()


HOSTILE = "\x1b[2J\u202eevil\r::error::x ##[error]y " + "v" * 100_000


def test_log_fields_are_escaped_and_bounded() -> None:
    stream = io.StringIO()
    JsonLog(stream, "dev")("error", "cycle_failed", error=HOSTILE, keys=[HOSTILE, "dev/flag/a"])
    (line,) = stream.getvalue().splitlines()
    assert len(line) < 8 * MESSAGE
    record = json.loads(line)
    for text in (record["error"], *record["keys"]):
        assert not any(ch in text for ch in "\x1b\u202e\r")
        assert "##[" not in text  # ("::" opens a workflow command only at a line's start)
    assert record["keys"][1] == "dev/flag/a"


def test_healthz_error_is_escaped_and_bounded() -> None:
    health = Health(interval=1)
    health.failure(HOSTILE)
    error = str(health.view().body["last_error"])
    assert len(error) <= 2 * MESSAGE
    assert "\x1b" not in error
    assert "\u202e" not in error


def test_a_source_url_with_credentials_is_logged_without_them(tmp_path: Path, h: Any) -> None:
    # A token in an https source URL is how CI systems often hand the agent its credentials.
    source = "https://deploy:s3cr3t-token@127.0.0.1:9/config.git"
    url = f"sqlite:{tmp_path}/state.db"
    once = h.run_once(tmp_path, "--env", "dev", "--source", source, "--store", url)
    assert once.returncode == 3, once.stderr
    assert "s3cr3t-token" not in once.stderr
    assert "deploy:" not in once.stderr
    started = [json.loads(line) for line in once.stderr.splitlines() if '"started"' in line]
    assert started
    assert started[0]["source"] == "https://127.0.0.1:9/config.git"


def test_redact_url_keeps_everything_but_the_credentials() -> None:
    from qv_config.agent.source import redact_url

    assert redact_url("https://u:p@host:8443/a/b.git") == "https://host:8443/a/b.git"
    assert redact_url("ssh://git@host/a.git") == "ssh://host/a.git"
    assert redact_url("git@host:a.git") == "git@host:a.git"  # scp-like: a user name, no secret
    assert redact_url("/srv/config") == "/srv/config"

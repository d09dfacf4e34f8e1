"""A running `qv agent` meets a state whose secret's sops ``type:`` tag was edited (SPEC §8).

It refuses that state (audit entry, log line, metric, health), never writes or logs the
plaintext, and keeps running.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.diff.secretrepo import DOC, init_repo, retag_password, set_password

CANARY = "agent-tamper-canary-4Rk"


@pytest.fixture
def repo(tmp_path: Path, h: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    key = init_repo(root)
    set_password(root / DOC, key, CANARY)
    h.git(root, "add", "-A")
    h.git(root, "commit", "-qm", "init")
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key))  # the agent's own key (inherited)
    return root


def _retag(repo: Path, h: Any, tag: str) -> str:
    retag_password(repo / DOC, tag)
    h.git(repo, "commit", "-qam", f"type tag {tag}")
    return str(h.git(repo, "rev-parse", "HEAD"))


def test_agent_refuses_a_tampered_type_tag_and_keeps_running(
    tmp_path: Path, repo: Path, h: Any, spawn: Callable[..., Any]
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    agent = spawn(
        tmp_path, "--env", "dev", "--source", str(repo), "--store", url, "--interval", "0.3"
    )
    good = h.git(repo, "rev-parse", "HEAD")
    h.wait_for(lambda: h.deployed(url, tmp_path) == good, what="the first sync")
    bad = _retag(repo, h, "int")
    h.wait_for(lambda: agent.events("refused"), what="the refusal")
    h.wait_for(lambda: agent.metric("qv_agent_refused_applies_total") == 1, what="the metric")
    refused = h.audit(url, tmp_path)[-1]
    assert (refused.action, refused.revision, refused.from_revision) == ("refused", bad, good)
    assert "spec.database.password" in refused.reason
    assert "QV603" in refused.reason
    assert h.deployed(url, tmp_path) == good
    h.wait_for(lambda: agent.get("/healthz")[0] == 503, what="health failing")
    assert agent.proc.poll() is None  # still running, still refusing that state
    _, health = agent.get("/healthz")
    assert "spec.database.password" in health
    log = agent.log_path.read_text()
    for text in (log, health, str(h.audit(url, tmp_path))):
        assert CANARY not in text
        assert "Traceback" not in text

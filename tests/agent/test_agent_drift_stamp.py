"""The agent records the input stamp in ``_meta`` and caches what it renders for `qv drift`.

Real agent processes (``--once``) on a real Git repository, run from that checkout (the default
cache dir under its ``.qv/``); `qv drift` then runs in the same checkout, in process.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import qv_config.cli.drift  # noqa: F401 - registers the command on the app
from qv_config.cli.__main__ import main
from qv_config.store import desiredcache as dc

POLICY = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: approvals}
spec:
  rules:
    - {name: two, environments: [dev], count: 2}
"""


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    return Path(h.make_repo(tmp_path / "repo"))


def run_agent(h: Any, repo: Path, url: str) -> Any:
    return h.run_once(repo, "--env", "dev", "--source", ".", "--store", url)


def meta(tmp_path: Path) -> dict[str, Any]:
    with sqlite3.connect(tmp_path / "state.db") as db:
        (raw,) = db.execute("select value from kv where key = 'qv/dev/_meta'").fetchone()
    return dict(json.loads(raw))


def drift(repo: Path, url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, int]:
    before = dc.STATS.renders
    with pytest.raises(SystemExit) as stop:
        main(["-C", str(repo), "drift", "--env", "dev", "--store", url, "--format", "json"])
    out = capsys.readouterr()
    assert out.out, out.err
    return int(stop.value.code or 0), json.loads(out.out), dc.STATS.renders - before


def test_agent_apply_records_the_stamp_a_checkout_computes(
    tmp_path: Path, repo: Path, h: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    result = run_agent(h, repo, url)
    assert result.returncode == 0, result.stderr
    key = dc.input_key(repo, "dev", "HEAD")  # read in the checkout; the agent read its mirror
    assert key is not None
    assert meta(tmp_path)["inputs"] == dc.stamp("dev", key.key)
    (repo / "README.md").write_text("docs only\n")  # a new tip, the same inputs
    h.git(repo, "add", "README.md")
    h.git(repo, "commit", "-qm", "docs")
    code, report, renders = drift(repo, url, capsys)
    assert (code, renders) == (0, 0)
    assert report["pending"]["revision"] == h.git(repo, "rev-parse", "HEAD")
    assert report["pending"]["changed"] == []


def test_state_the_agent_refused_is_pending_without_a_render(
    tmp_path: Path, repo: Path, h: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    assert run_agent(h, repo, url).returncode == 0
    (repo / "policy").mkdir()
    (repo / "policy" / "approvals.yaml").write_text(POLICY)
    h.git(repo, "add", "policy")
    h.git(repo, "commit", "-qm", "approvals for dev")
    h.commit_notional(repo, 90000)  # deployed: judged by the policy of the state before (none)
    assert run_agent(h, repo, url).returncode == 0
    gated = h.commit_notional(repo, 80000)
    refused = run_agent(h, repo, url)
    assert refused.returncode == 1, refused.stderr
    assert len(list(dc.folder(repo).glob("*.qvc"))) == 3  # two deployed, the waiting state
    code, report, renders = drift(repo, url, capsys)
    assert (code, renders) == (0, 0)  # the refused tip's hashes come from the agent's render
    pending = report["pending"]
    assert (pending["revision"], pending["changed"]) == (gated, ["dev/config/example-service"])


def test_explicit_cache_dir_writes_nothing_into_the_workdir(
    tmp_path: Path, repo: Path, h: Any
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    result = h.run_once(
        repo, "--env", "dev", "--source", ".", "--store", url, "--cache-dir", str(tmp_path / "m")
    )
    assert result.returncode == 0, result.stderr
    assert not dc.folder(repo).exists()
    assert len(meta(tmp_path)["inputs"]) == 64

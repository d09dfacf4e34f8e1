"""`qv agent --once`: one real cycle per process against real Git repositories and SQLite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def repo(tmp_path: Path, h: Any) -> Path:
    return h.make_repo(tmp_path / "repo")


def store(tmp_path: Path) -> str:
    return f"sqlite:{tmp_path}/state.db"


def once(h: Any, tmp_path: Path, repo: Path, *extra: str) -> Any:
    return h.run_once(
        tmp_path, "--env", "dev", "--source", str(repo), "--store", store(tmp_path), *extra
    )


def test_first_sync_then_each_state_in_order(tmp_path: Path, repo: Path, h: Any) -> None:
    first = once(h, tmp_path, repo)
    assert first.returncode == 0, first.stderr
    assert h.deployed(store(tmp_path), tmp_path) == h.git(repo, "rev-parse", "HEAD")
    revs = [h.commit_notional(repo, v) for v in (90000, 80000)]
    (repo / "README.md").write_text("docs only: no effective change\n")
    h.git(repo, "add", "README.md")
    h.git(repo, "commit", "-qm", "docs")
    second = once(h, tmp_path, repo)
    assert second.returncode == 0, second.stderr
    entries = h.audit(store(tmp_path), tmp_path)
    assert [e.revision for e in entries[1:]] == revs  # each state, oldest first; docs skipped
    assert entries[2].from_revision == revs[0]
    assert all(e.action == "apply" and e.changed == 1 for e in entries[1:])
    assert '"event": "applied"' in second.stderr
    third = once(h, tmp_path, repo)  # up to date: nothing written
    assert third.returncode == 0
    assert len(h.audit(store(tmp_path), tmp_path)) == 3


def test_cache_dir_is_a_bare_mirror_under_dot_qv(tmp_path: Path, repo: Path, h: Any) -> None:
    assert once(h, tmp_path, repo).returncode == 0
    mirrors = list((tmp_path / ".qv" / "agent").iterdir())
    assert len(mirrors) == 1
    assert (mirrors[0] / "HEAD").exists()
    assert not (mirrors[0] / ".git").exists()


APPROVALS = """\
apiVersion: qv/v1
kind: ApprovalPolicy
metadata: {name: approvals}
spec:
  rules:
    - name: two-approvers
      environments: [%s]
      count: 2
"""


def test_policy_requiring_approvals_waits_fail_closed(tmp_path: Path, repo: Path, h: Any) -> None:
    """The policy governs from the deployed state on: the first state that brings it is judged
    by the deployed one (none), the next ones wait for approvals."""
    assert once(h, tmp_path, repo).returncode == 0
    h.commit_notional(repo, 90000)
    (repo / "policy").mkdir()
    (repo / "policy" / "approvals.yaml").write_text(APPROVALS % "dev")
    h.git(repo, "add", "policy")
    h.git(repo, "commit", "-qm", "approvals for dev")
    ok = h.commit_notional(repo, 80000)
    gated = h.commit_notional(repo, 70000)
    h.commit_notional(repo, 60000)
    result = once(h, tmp_path, repo)
    assert result.returncode == 1
    assert "waiting for approvals of" in result.stderr
    assert "missing: rule two-approvers: 2 more approver(s)" in result.stderr
    assert "qv: error:" in result.stderr
    assert "Traceback" not in result.stderr
    assert h.deployed(store(tmp_path), tmp_path) == ok  # stopped at the first gated state
    last = h.audit(store(tmp_path), tmp_path)[-1]
    assert (last.action, last.revision, last.from_revision) == ("refused", gated, ok)


def test_policy_for_other_environments_lets_dev_through(tmp_path: Path, repo: Path, h: Any) -> None:
    (repo / "policy").mkdir()
    (repo / "policy" / "approvals.yaml").write_text(APPROVALS % "prod, staging")
    h.git(repo, "add", "policy")
    h.git(repo, "commit", "-qm", "approvals for prod")
    assert once(h, tmp_path, repo).returncode == 0
    h.commit_notional(repo, 90000)
    assert once(h, tmp_path, repo).returncode == 0
    assert h.deployed(store(tmp_path), tmp_path) == h.git(repo, "rev-parse", "HEAD")


def test_invalid_state_is_refused(tmp_path: Path, repo: Path, h: Any) -> None:
    assert once(h, tmp_path, repo).returncode == 0
    good = h.git(repo, "rev-parse", "HEAD")
    path = repo / h.CONFIG
    path.write_text(path.read_text().replace("kind: Config", "kind: Config\nbogus_field: 1"))
    h.git(repo, "commit", "-qam", "broken")
    result = once(h, tmp_path, repo)
    assert result.returncode == 1
    assert "validation error" in result.stderr
    assert h.deployed(store(tmp_path), tmp_path) == good
    assert h.audit(store(tmp_path), tmp_path)[-1].action == "refused"


def test_force_push_rewriting_deployed_history_is_refused(
    tmp_path: Path, repo: Path, h: Any
) -> None:
    h.commit_notional(repo, 90000)
    assert once(h, tmp_path, repo).returncode == 0
    deployed = h.git(repo, "rev-parse", "HEAD")
    h.git(repo, "reset", "-q", "--hard", "HEAD~1")
    rewritten = h.commit_notional(repo, 85000)
    result = once(h, tmp_path, repo)
    assert result.returncode == 1
    assert "not a descendant of the deployed revision" in result.stderr
    assert h.deployed(store(tmp_path), tmp_path) == deployed
    last = h.audit(store(tmp_path), tmp_path)[-1]
    assert (last.action, last.revision, last.from_revision) == ("refused", rewritten, deployed)


def test_unparseable_meta_is_refused_with_a_clear_message(
    tmp_path: Path, repo: Path, h: Any
) -> None:
    import sqlite3

    assert once(h, tmp_path, repo).returncode == 0
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("update kv set value = '{oops' where key = 'qv/dev/_meta'")
    h.commit_notional(repo, 90000)
    result = once(h, tmp_path, repo)
    assert result.returncode == 1
    assert "qv/dev/_meta is not valid qv metadata" in result.stderr
    assert "sqlite3" in result.stderr  # how to inspect and repair it
    assert "Traceback" not in result.stderr


def test_lease_held_by_another_agent_is_exit_3(tmp_path: Path, repo: Path, h: Any) -> None:
    from qv_config.store import open_store

    other = open_store(store(tmp_path), tmp_path)
    assert other.acquire_lease("dev", "someone-else", 60)
    result = once(h, tmp_path, repo)
    assert result.returncode == 3
    assert "lease" in result.stderr
    assert h.deployed(store(tmp_path), tmp_path) is None
    other.release_lease("dev", "someone-else")
    assert once(h, tmp_path, repo).returncode == 0


def test_usage_and_operational_errors(tmp_path: Path, repo: Path, h: Any) -> None:
    bad_ttl = once(h, tmp_path, repo, "--interval", "5", "--lease-ttl", "5")
    assert bad_ttl.returncode == 2
    assert "--lease-ttl" in bad_ttl.stderr
    branch = once(h, tmp_path, repo, "--branch", "nope")
    assert branch.returncode == 2
    assert "branch 'nope' does not exist" in branch.stderr
    missing = h.run_once(
        tmp_path, "--env", "dev", "--source", str(tmp_path / "nowhere"), "--store", store(tmp_path)
    )
    assert missing.returncode == 3
    assert "cannot clone" in missing.stderr
    for result in (bad_ttl, branch, missing):
        assert "Traceback" not in result.stderr


def test_a_failed_once_releases_its_lease(tmp_path: Path, repo: Path, h: Any) -> None:
    """A store error after the lease was taken (here a trigger refusing every write of values)
    fails the run; the lease is still released, so the next run is not refused for the TTL."""
    import sqlite3

    assert once(h, tmp_path, repo).returncode == 0
    db = tmp_path / "state.db"
    with sqlite3.connect(db) as con:
        con.execute(
            "CREATE TRIGGER no_writes BEFORE INSERT ON kv BEGIN SELECT RAISE(ABORT, 'no'); END"
        )
    rev = h.commit_notional(repo, 90000)
    failed = once(h, tmp_path, repo)
    assert failed.returncode != 0
    assert '"kind": "store"' in failed.stderr
    with sqlite3.connect(db) as con:
        lease = con.execute("SELECT count(*) FROM lease").fetchone()[0]
        con.execute("DROP TRIGGER no_writes")
    assert lease == 0
    again = once(h, tmp_path, repo)
    assert again.returncode == 0, again.stderr
    assert h.deployed(store(tmp_path), tmp_path) == rev

"""The agent's approval gate end to end: a real bare remote, the real agent process and loop.

The policy that governs each state is the deployed state's: the attack commit (delete
``policy/approvals.yaml`` and loosen a prod limit in one go) waits for approvals under the policy
it deletes. Waiting is a state, not a failure: ``qv_agent_waiting_for_approval{env}`` = 1, one log
line naming the missing rules, ``/healthz`` ok, drift goes on, and the agent keeps polling.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from tests.gated import POLICY, Gated, git

WAITING = 'qv_agent_waiting_for_approval{env="prod"}'


@pytest.fixture
def gated(tmp_path: Path) -> Gated:
    return Gated.make(tmp_path / "repo")


def once(h: Any, cwd: Path, g: Gated, url: str) -> Any:
    return h.run_once(cwd, "--env", "prod", "--source", str(g.origin), "--store", url)


def governed(h: Any, cwd: Path, g: Gated, url: str) -> str:
    """prod deployed by the agent at the revision that adopted the policy."""
    first = once(h, cwd, g, url)
    assert first.returncode == 0, first.stderr
    rev = g.adopt()
    second = once(h, cwd, g, url)
    assert second.returncode == 0, second.stderr
    assert h.deployed(url, cwd, "prod") == rev
    return rev


def start(spawn: Any, cwd: Path, g: Gated, url: str) -> Any:
    """The agent as a long-running process, polling every 0.3 s, with /metrics and /healthz."""
    return spawn(
        cwd, "--env", "prod", "--source", str(g.origin), "--store", url,
        "--interval", "0.3", "--lease-ttl", "5",
    )  # fmt: skip


def test_agent_waits_at_the_commit_that_deletes_the_policy_and_loosens_prod(
    tmp_path: Path, gated: Gated, h: Any, spawn: Any, store_url: str
) -> None:
    deployed = governed(h, tmp_path, gated, store_url)
    attack = gated.delete_policy_and_loosen(1_500_000)
    gated.push()
    agent = start(spawn, tmp_path, gated, store_url)
    h.wait_for(lambda: agent.metric(WAITING) == 1, 30, "the agent to wait")
    time.sleep(1.5)  # several more cycles at --interval 0.3
    assert agent.proc.poll() is None  # still running
    code, body = agent.get("/healthz")
    assert code == 200
    assert json.loads(body)["status"] == "ok"
    waits = agent.events("waiting_for_approval")
    assert len(waits) == 1  # said once, not every poll
    assert waits[0]["revision"] == attack
    assert waits[0]["from_revision"] == deployed
    assert any("prod-any-change" in m for m in waits[0]["missing"])
    assert not agent.events("refused")
    assert h.deployed(store_url, tmp_path, "prod") == deployed
    refused = [e for e in h.audit(store_url, tmp_path, "prod") if e.action == "refused"]
    assert [(e.revision, e.from_revision) for e in refused] == [(attack, deployed)]
    assert "prod-any-change" in refused[0].reason


def test_once_exits_1_naming_what_is_missing(tmp_path: Path, gated: Gated, h: Any) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    governed(h, tmp_path, gated, url)
    gated.set_limit(1_500_000)
    gated.push()
    result = once(h, tmp_path, gated, url)
    assert result.returncode == 1
    assert "qv: error: waiting for approvals of" in result.stderr
    assert "prod-any-change" in result.stderr
    assert "Traceback" not in result.stderr


def test_garbage_under_the_approval_refs_is_fetched_and_does_not_crash_the_agent(
    tmp_path: Path, gated: Gated, h: Any, spawn: Any
) -> None:
    from qv_config.approvals import approval_digest

    url = f"sqlite:{tmp_path}/state.db"
    deployed = governed(h, tmp_path, gated, url)
    target = gated.set_limit(1_200_000)
    gated.push()
    _push_garbage(gated, approval_digest(gated.work, "prod", target))
    agent = start(spawn, tmp_path, gated, url)
    h.wait_for(lambda: agent.metric(WAITING) == 1, 30, "the agent to wait")
    time.sleep(1)  # a few more polls over the same garbage
    assert agent.proc.poll() is None
    assert agent.get("/healthz")[0] == 200
    waits = agent.events("waiting_for_approval")
    assert len(waits) == 1
    ignored = waits[0]["ignored"]  # the refs under this state's folder, each with why
    assert len(ignored) == 4
    assert any("not a blob" in why for why in ignored)
    assert h.deployed(url, tmp_path, "prod") == deployed
    mirror = next((tmp_path / ".qv" / "agent").iterdir())
    refs = git(mirror, "for-each-ref", "--format=%(refname)", "refs/qv/approvals/")
    assert len(refs.splitlines()) == 5  # the agent's fetch brings the approval refs along


def _push_garbage(g: Gated, digest: str) -> None:
    """Refs under the target's folder refs/qv/approvals/prod/DIGEST/ that are no approval:
    junk bytes, a 300 KB blob, a commit, a tree; and one in a folder named by no digest."""
    work = g.work
    junk = git(work, "hash-object", "-w", "--stdin", input_text="\x00\xff not an approval\n")
    big = git(work, "hash-object", "-w", "--stdin", input_text="x" * 300_000)
    tree = git(work, "rev-parse", "HEAD^{tree}")
    for name, oid in (
        (f"{digest}/junk", junk),
        (f"{digest}/big", big),
        (f"{digest}/commit", g.head()),
        (f"{digest}/tree", tree),
        ("not-a-digest/junk", junk),
    ):
        git(work, "update-ref", f"refs/qv/approvals/prod/{name}", oid)
    git(work, "push", "-q", "origin", "+refs/qv/approvals/*:refs/qv/approvals/*")


def test_an_unreadable_policy_at_the_deployed_state_refuses(
    tmp_path: Path, gated: Gated, h: Any
) -> None:
    """Fail closed: a deployed policy that does not parse lets nothing through (a refusal that
    a person must fix, so not waiting: the exit and /healthz say failure). qv validate refuses
    such a state now (QV701); an older qv, which did not check policies, could deploy it."""
    url = f"sqlite:{tmp_path}/state.db"
    governed(h, tmp_path, gated, url)
    (gated.work / "policy" / "approvals.yaml").write_text("spec: [unclosed\n")
    git(gated.work, "add", "-A")
    broken = gated.set_limit(800_000)
    _deploy_unchecked(gated.work, url, broken)
    (gated.work / "policy" / "approvals.yaml").write_text(POLICY)  # the fix, itself gated
    git(gated.work, "add", "-A")
    gated.set_limit(700_000)  # judged by the broken policy deployed with the state before
    gated.push()
    result = once(h, tmp_path, gated, url)
    assert result.returncode == 1
    assert h.deployed(url, tmp_path, "prod") == broken
    assert "its approvals cannot be checked: the policy is invalid" in result.stderr
    assert "QV701" in result.stderr
    assert "(the gate fails closed)" in result.stderr
    assert '"event": "refused"' in result.stderr
    assert '"event": "waiting_for_approval"' not in result.stderr


def _deploy_unchecked(work: Path, url: str, rev: str) -> None:
    """Deploy ``rev`` as a qv that neither validated it nor asked a gate would have."""
    from qv_config.store import apply_desired, open_store
    from qv_config.store.source import render_desired

    store = open_store(url, work)
    try:
        desired = render_desired(work, "prod", rev, check=False)
        apply_desired(store, desired, is_descendant=lambda _a, _b: True, applied_by="old-qv")
    finally:
        store.close()


def test_the_agent_shows_a_break_glass_deploy_and_walks_on_from_it(
    tmp_path: Path, gated: Gated, h: Any, spawn: Any
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    governed(h, tmp_path, gated, url)
    glass = gated.set_limit(1_500_000)
    gated.push()
    _qv(gated.work, "sync", "--env", "prod", "--store", url, "--break-glass", "--reason", "INC-1")
    agent = start(spawn, tmp_path, gated, url)
    h.wait_for(
        lambda: agent.metric('qv_agent_break_glass_deployed{env="prod"}') == 1, 30, "the metric"
    )
    assert agent.metric(WAITING) == 0
    assert h.deployed(url, tmp_path, "prod") == glass


def _qv(cwd: Path, *args: str) -> None:
    import subprocess

    from tests.qvbin import QV

    subprocess.run([str(QV), *args], cwd=cwd, check=True, capture_output=True, text=True)


def test_the_agent_applies_once_valid_approvals_are_pushed_to_its_source(
    tmp_path: Path, gated: Gated, h: Any, spawn: Any, store_url: str
) -> None:
    deployed = governed(h, tmp_path, gated, store_url)
    loosened = gated.set_limit(1_500_000)  # prod-any-change (risk) + prod-risk-loosening (2)
    gated.push()
    agent = start(spawn, tmp_path, gated, store_url)
    h.wait_for(lambda: agent.metric(WAITING) == 1, 30, "the agent to wait")
    gated.approve("rita", loosened, deployed)
    h.wait_for(lambda: len(agent.events("waiting_for_approval")) == 2, 30, "rita's approval")
    second = agent.events("waiting_for_approval")[1]
    assert second["approvals"] == ["rita@example.com"]
    assert second["missing"] == [
        "rule prod-risk-loosening: 1 more approver(s) from risk, compliance"
    ]
    assert h.deployed(store_url, tmp_path, "prod") == deployed
    gated.approve("carl", loosened, deployed)
    h.wait_for(lambda: h.deployed(store_url, tmp_path, "prod") == loosened, 30, "the apply")
    h.wait_for(lambda: agent.metric(WAITING) == 0, 30, "the wait to end")
    assert agent.proc.poll() is None
    applied = agent.events("applied")[-1]
    assert applied["approvals"] == ["carl@example.com", "rita@example.com"]
    last = h.audit(store_url, tmp_path, "prod")[-1]
    assert (last.action, last.revision, last.approvals) == (
        "apply",
        loosened,
        ("carl@example.com", "rita@example.com"),
    )


def test_two_pull_requests_approved_side_by_side_then_merged_in_turn(
    tmp_path: Path, gated: Gated, h: Any
) -> None:
    """The second's approved digest is not what main renders after the first: it waits."""
    url = f"sqlite:{tmp_path}/state.db"
    deployed = governed(h, tmp_path, gated, url)
    first = _branch(gated, "a", lambda: gated.set_limit(800_000))
    second = _branch(gated, "b", lambda: _tighten_config(gated))
    for head in (first, second):
        gated.approve("rita", head, deployed)
    git(gated.work, "merge", "-q", "--no-ff", "-m", "Merge a", "a")
    gated.push()
    assert once(h, tmp_path, gated, url).returncode == 0  # main renders what was approved
    merged_a = h.deployed(url, tmp_path, "prod")
    assert merged_a == gated.head()
    git(gated.work, "merge", "-q", "--no-ff", "-m", "Merge b", "b")
    gated.push()
    result = once(h, tmp_path, gated, url)
    assert result.returncode == 1
    assert "waiting for approvals of" in result.stderr
    assert "rule prod-any-change: 1 more approver(s) from risk" in result.stderr
    assert h.deployed(url, tmp_path, "prod") == merged_a


def _branch(g: Gated, name: str, change: Any) -> str:
    git(g.work, "checkout", "-q", "-b", name, "main")
    head = str(change())
    git(g.work, "checkout", "-q", "main")
    return head


def _tighten_config(g: Gated) -> str:
    path = g.work / "environments/prod/configs/example-service.yaml"
    path.write_text(
        path.read_text().replace("max_order_notional: 2000000", "max_order_notional: 1900000")
    )
    git(g.work, "commit", "-qam", "prod service notional 1900000")
    return g.head()


def test_approvals_for_another_environment_digest_or_base_do_not_open_the_gate(
    tmp_path: Path, gated: Gated, h: Any
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    deployed = governed(h, tmp_path, gated, url)
    other = _branch(gated, "other", lambda: gated.set_limit(810_000))  # another digest
    staging = gated.work / "environments/staging/risk-policies/example-standard.yaml"
    staging.write_text(
        staging.read_text().replace("max_order_notional: 250000", "max_order_notional: 240000")
    )
    target = gated.set_limit(800_000)  # one commit that changes staging and prod
    gated.push()
    gated.approve("rita", target, deployed, env="staging")  # valid, for another environment
    gated.approve("rita", other, deployed)  # valid, for another target digest
    gated.approve("carl", target, other)  # for this target, but another base: a replay
    result = once(h, tmp_path, gated, url)
    assert result.returncode == 1
    assert "rule prod-any-change: 1 more approver(s) from risk" in result.stderr
    assert h.deployed(url, tmp_path, "prod") == deployed
    wait = json.loads(next(ln for ln in result.stderr.splitlines() if "waiting_for" in ln))
    assert wait["approvals"] == []
    assert len(wait["ignored"]) == 1  # carl's, under this target: bound to another base


def test_a_wiped_store_does_not_let_the_waiting_tip_in_as_a_first_deploy(
    tmp_path: Path, gated: Gated, h: Any
) -> None:
    """A store that lost its keys (a Redis without persistence restarted, a hand wipe) reads as
    "nothing deployed": the tip is then a first deploy, judged by its own policy, and waits."""
    import sqlite3

    url = f"sqlite:{tmp_path}/state.db"
    governed(h, tmp_path, gated, url)
    gated.set_limit(1_500_000)
    gated.push()
    assert once(h, tmp_path, gated, url).returncode == 1  # waiting for approvals
    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("DELETE FROM kv")
    result = once(h, tmp_path, gated, url)
    assert result.returncode == 1
    assert "a first deploy has no base to approve against" in result.stderr
    assert "qv sync --env prod --break-glass --reason 'first deploy of prod'" in result.stderr
    assert h.deployed(url, tmp_path, "prod") is None

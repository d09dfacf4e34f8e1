"""`qv sync` through the approval gate, `--break-glass`, `qv rollback` and `qv history` (SPEC §6-7).

The policy that governs a sync is the deployed state's: a commit that deletes it and loosens a
prod limit is refused (exit 1, the missing rules named, nothing applied, an audit entry);
`--break-glass --reason` applies anyway and is recorded; a rollback to a state deployed through
its gate before needs no approval; one never deployed, or deployed only by break-glass, is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.gated import Gated, git
from tests.inprocess import QvRun, run_qv

from qv_config.store import open_store
from qv_config.store.apply import read_meta
from qv_config.store.types import AuditEntry, Meta


@pytest.fixture
def gated(tmp_path: Path) -> Gated:
    return Gated.make(tmp_path)


def sync(capsys: pytest.CaptureFixture[str], g: Gated, url: str, *args: str) -> QvRun:
    return run_qv(capsys, g.work, "sync", "--env", "prod", "--store", url, *args)


def governed(capsys: pytest.CaptureFixture[str], g: Gated, url: str) -> str:
    """prod deployed at the revision that adopted the policy (judged by init's: none)."""
    assert sync(capsys, g, url).code == 0
    rev = g.adopt()
    done = sync(capsys, g, url)
    assert done.code == 0, done.err
    return rev


def meta(g: Gated, url: str) -> Meta:
    store = open_store(url, g.work)
    try:
        found = read_meta(store, "prod", store.read_index("prod").meta_raw)
    finally:
        store.close()
    assert found is not None
    return found


def audit(g: Gated, url: str) -> list[AuditEntry]:
    store = open_store(url, g.work)
    try:
        return list(reversed(store.audit("prod")))  # oldest first
    finally:
        store.close()


def rollback(capsys: pytest.CaptureFixture[str], g: Gated, url: str, to: str) -> QvRun:
    return run_qv(
        capsys, g.work, "rollback", "--env", "prod", "--store", url, "--to", to, "--reason", "why"
    )


def test_sync_refuses_deleting_the_policy_and_loosening_prod(
    capsys: pytest.CaptureFixture[str], gated: Gated, store_url: str
) -> None:
    deployed = governed(capsys, gated, store_url)
    attack = gated.delete_policy_and_loosen(1_500_000)
    done = sync(capsys, gated, store_url)
    assert done.code == 1
    assert "prod-any-change" in done.err
    assert "rule policy-edits: 2 more approver(s)" in done.err  # deleting it is a policy edit
    assert "nothing was applied" in done.err
    assert "--break-glass" in done.err  # what to do next
    assert meta(gated, store_url).revision == deployed
    last = audit(gated, store_url)[-1]
    assert (last.action, last.revision, last.from_revision) == ("refused", attack, deployed)
    assert "prod-any-change" in last.reason
    history = run_qv(capsys, gated.work, "history", "--env", "prod", "--store", store_url)
    assert history.code == 0
    assert "refused" in history.out.splitlines()[0]


def test_break_glass_applies_and_is_recorded(
    capsys: pytest.CaptureFixture[str], gated: Gated, store_url: str
) -> None:
    governed(capsys, gated, store_url)
    attack = gated.delete_policy_and_loosen(1_500_000)
    why = "INC-42: exchange outage"
    done = sync(capsys, gated, store_url, "--break-glass", "--reason", why)
    assert done.code == 0, done.err
    assert f"BREAK-GLASS (approvals missing): {why}" in done.out
    now = meta(gated, store_url)
    assert (now.revision, now.break_glass, now.applied_by) == (attack, why, "dev@example.com")
    assert now.approvals == ()
    last = audit(gated, store_url)[-1]
    assert (last.action, last.break_glass, last.by) == ("apply", True, "dev@example.com")
    assert why in last.reason
    assert "prod-any-change" in last.reason  # what was missing is recorded with it
    text = run_qv(capsys, gated.work, "history", "--env", "prod", "--store", store_url).out
    assert "BREAK-GLASS" in text.splitlines()[0]
    assert why in text.splitlines()[0]
    raw = run_qv(
        capsys, gated.work, "history", "--env", "prod", "--store", store_url, "--format", "json"
    ).out
    rows = json.loads(raw)
    assert rows[0]["break_glass"] is True
    assert [r["break_glass"] for r in rows[1:]] == [False] * (len(rows) - 1)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--break-glass"], "--break-glass needs --reason"),
        (["--break-glass", "--reason", "  "], "--break-glass needs --reason"),
        (["--reason", "why"], "--reason goes with --break-glass"),
    ],
)
def test_break_glass_options_are_checked_first(
    capsys: pytest.CaptureFixture[str], gated: Gated, tmp_path: Path, args: list[str], said: str
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    done = sync(capsys, gated, url, *args)
    assert done.code == 2
    assert said in done.err
    assert not (tmp_path / "state.db").exists()  # nothing opened, nothing written


def test_an_environment_its_policy_asks_nothing_of_syncs_as_before(
    capsys: pytest.CaptureFixture[str], gated: Gated, tmp_path: Path
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    governed(capsys, gated, url)
    path = gated.work / "environments/dev/configs/example-service.yaml"
    path.write_text(path.read_text().replace("max_order_notional: 100000", "max_order_notional: 1"))
    git(gated.work, "commit", "-qam", "dev change")
    for _ in range(2):  # deployed without, then over, the policy (it asks nothing of dev)
        done = run_qv(capsys, gated.work, "sync", "--env", "dev", "--store", url)
        assert done.code == 0, done.err
    assert "BREAK-GLASS" not in done.out


def test_dry_run_says_what_the_gate_would_say_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], gated: Gated, tmp_path: Path
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    deployed = governed(capsys, gated, url)
    gated.set_limit(1_500_000)
    done = sync(capsys, gated, url, "--dry-run")
    assert done.code == 1  # unapproved: the apply would be refused
    assert "dry run: the gate would refuse" in done.err
    assert meta(gated, url).revision == deployed
    assert audit(gated, url)[-1].action == "apply"  # not even the refusal is recorded
    glass = sync(capsys, gated, url, "--dry-run", "--break-glass", "--reason", "INC-1")
    assert glass.code == 0, glass.err
    assert "dry run" in glass.out
    assert meta(gated, url).revision == deployed


def test_rollback_goes_back_only_to_states_deployed_through_their_gate(
    capsys: pytest.CaptureFixture[str], gated: Gated, store_url: str
) -> None:
    approved = governed(capsys, gated, store_url)
    glass = gated.set_limit(1_500_000)
    assert sync(capsys, gated, store_url, "--break-glass", "--reason", "INC-7").code == 0
    back = rollback(capsys, gated, store_url, approved)
    assert back.code == 0, back.err
    now = meta(gated, store_url)
    assert (now.revision, now.break_glass) == (approved, "")
    last = audit(gated, store_url)[-1]
    assert (last.action, last.revision, last.break_glass) == ("rollback", approved, False)
    # The break-glass state was never approved: no rollback goes back to it.
    again = rollback(capsys, gated, store_url, glass)
    assert again.code == 1
    assert "only with --break-glass, never approved" in again.err
    never = rollback(capsys, gated, store_url, gated.set_limit(800_000))
    assert never.code == 1
    assert "was never deployed to prod" in never.err
    assert meta(gated, store_url).revision == approved


def test_a_deployed_revision_this_checkout_lacks_fails_closed(
    capsys: pytest.CaptureFixture[str], gated: Gated, tmp_path: Path
) -> None:
    """The policy of a base that cannot be read here is no policy to skip: refused."""
    url = f"sqlite:{tmp_path}/state.db"
    governed(capsys, gated, url)
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(gated.origin), str(other))
    git(other, "config", "user.email", "ops@example.com")
    Gated(other, gated.origin, gated.keys).set_limit(700_000)  # never pushed
    done = run_qv(
        capsys, other, "sync", "--env", "prod", "--store", url,
        "--break-glass", "--reason", "INC-9",
    )  # fmt: skip
    assert done.code == 0, done.err
    gated.set_limit(600_000)
    refused = sync(capsys, gated, url)
    assert refused.code == 1
    assert "its approvals cannot be checked" in refused.err
    assert meta(gated, url).applied_by == "ops@example.com"


def test_sync_applies_once_approved_and_records_the_approvers(
    capsys: pytest.CaptureFixture[str], gated: Gated, tmp_path: Path
) -> None:
    url = f"sqlite:{tmp_path}/state.db"
    deployed = governed(capsys, gated, url)
    target = gated.set_limit(800_000)
    assert sync(capsys, gated, url).code == 1
    gated.approve("rita", target, deployed, push=False)  # refs/qv/approvals/ of this checkout
    done = sync(capsys, gated, url)
    assert done.code == 0, done.err
    assert "approved by rita@example.com" in done.out
    assert meta(gated, url).approvals == ("rita@example.com",)
    history = run_qv(capsys, gated.work, "history", "--env", "prod", "--store", url)
    assert "approved by rita@example.com" in history.out.splitlines()[0]
    raw = run_qv(capsys, gated.work, "history", "--env", "prod", "--store", url, "--format", "json")
    assert json.loads(raw.out)[0]["approvals"] == ["rita@example.com"]

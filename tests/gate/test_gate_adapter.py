"""The gate's adapter to the approvals core: the same verdict from the agent's renders as from the
core's own, fail-closed reads of the governing policy, and first deploys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.gated import Gated, git

from qv_config.approvals.change import compute
from qv_config.diff.states import Workspace
from qv_config.gate.adapter import GateUnreadable, Outcome, evaluate
from qv_config.gate.rendered import Rendered, change_from
from qv_config.store.source import render_desired


@pytest.fixture
def gated(tmp_path: Path) -> Gated:
    return Gated.make(tmp_path)


def rendered(g: Gated, base: str, target: str, env: str = "prod") -> Rendered:
    return Rendered(
        render_desired(g.work, env, base, check=False), render_desired(g.work, env, target)
    )


def test_the_change_from_the_agents_renders_is_the_cores(gated: Gated) -> None:
    base = gated.adopt()
    extra = gated.work / "environments/prod/flags/extra.yaml"
    extra.write_text(
        "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: extra, owner: team-alpha}\n"
        "spec: {type: release, enabled: false}\n"
    )
    (gated.work / "policy" / "approvals.yaml").write_text(
        (gated.work / "policy" / "approvals.yaml").read_text().replace("count: 2", "count: 1")
    )
    git(gated.work, "add", "-A")
    target = gated.set_limit(1_500_000)  # added, loosened, and a policy edit
    ws = Workspace(gated.work)
    try:
        fast = change_from(ws, "prod", rendered(gated, base, target))
        core = compute(ws, "prod", base, target)
    finally:
        ws.close()
    assert (fast.base_digest, fast.target_digest) == (core.base_digest, core.target_digest)
    assert fast.changes_digest == core.changes_digest
    assert fast.policy_edited
    assert core.policy_edited
    assert fast.docs == core.docs
    assert len(fast.docs) == 2
    assert fast.commits == core.commits
    assert fast.base_policy.digest == core.base_policy.digest


def test_the_same_outcome_with_and_without_renders(gated: Gated) -> None:
    base = gated.adopt()
    target = gated.set_limit(1_500_000)
    both = rendered(gated, base, target)
    digests = {"base_digest": both.base.digest, "target_digest": both.target.digest}
    for approver in ("", "rita", "carl"):
        if approver:
            gated.approve(approver, target, base, push=False)
        fast = evaluate(gated.work, "prod", base, target, **digests, rendered=both)
        slow = evaluate(gated.work, "prod", base, target, **digests)
        assert fast == slow
    assert fast == Outcome(True, True, ("carl@example.com", "rita@example.com"))


def test_a_policy_that_is_a_link_out_of_the_tree_is_unreadable_never_absent(
    gated: Gated, tmp_path: Path
) -> None:
    """The core reads policy files with read(), which answers None for a refused link: the
    adapter reads them strictly first, so such a base asks for a person, not for nothing."""
    base = gated.adopt()
    (tmp_path / "elsewhere.yaml").write_text("anything\n")
    policy = gated.work / "policy" / "approvals.yaml"
    policy.unlink()
    os.symlink(tmp_path / "elsewhere.yaml", policy)
    git(gated.work, "add", "-A")
    git(gated.work, "commit", "-qm", "policy: a link out")
    linked = gated.head()
    target = gated.set_limit(800_000)
    with pytest.raises(GateUnreadable, match=r"policy/approvals\.yaml is a link qv does not"):
        evaluate(gated.work, "prod", linked, target, base_digest=None, target_digest="x")
    assert evaluate(gated.work, "prod", base, base, base_digest=None, target_digest="x").met


def test_a_first_deploy_is_judged_by_its_own_policy(gated: Gated) -> None:
    target = gated.adopt()
    prod = evaluate(gated.work, "prod", None, target, base_digest=None, target_digest="x")
    assert (prod.required, prod.met) == (True, False)
    assert prod.missing[0] == "rule prod-any-change: a first deploy has no base to approve against"
    dev = evaluate(gated.work, "dev", None, target, base_digest=None, target_digest="x")
    assert dev == Outcome(required=False, met=True)  # policy-edits covers dev, not additions
    before = git(gated.work, "rev-parse", "HEAD~1")
    assert evaluate(gated.work, "prod", None, before, base_digest=None, target_digest="x").met


def test_renders_of_decrypted_secrets_are_not_used(gated: Gated) -> None:
    base = gated.adopt()
    both = rendered(gated, base, gated.set_limit(800_000))
    assert both.usable
    secret = Rendered(both.base, type(both.target)(**{**both.target.__dict__, "secret": True}))
    assert not secret.usable

"""The workflow end to end: a change is unmet, approvals arrive, it is met; and the edges."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from qv_config.approvals import evaluate
from qv_config.repo import gitcmd
from tests.approvals.conftest import PROD_ENV, Repo


def test_unmet_then_approved_then_met(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    first = repo.approvals(base)
    assert first.code == 1
    assert "prod-loosen" in first.out
    assert "2 more approver(s) from risk, compliance" in first.out
    assert repo.approve("alice", base).code == 0
    assert repo.approvals(base).code == 1  # one of two for prod-loosen
    done = repo.approve("carol", base)
    assert done.code == 0, done.err
    assert "approved prod" in done.out
    met = repo.approvals(base, "prod", "--format", "json")
    assert met.code == 0, met.out
    data = json.loads(met.out)
    assert data["met"] is True
    verdict = data["environments"][0]
    assert verdict["approvers"] == ["alice@example.com", "carol@example.com"]
    rules = {r["rule"]: r for r in verdict["rules"]}
    assert rules["prod-loosen"]["because"] == ["loosen"]
    assert rules["prod-any"]["approvers"] == ["alice@example.com", "carol@example.com"]


def test_an_environment_the_change_does_not_touch_needs_nothing(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    result = repo.approvals(base, "dev")
    assert result.code == 0
    assert "nothing changed" in result.out


def test_every_environment_is_checked_when_none_is_named(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    result = repo.qv("approvals", "--base", base, "--format", "markdown")
    assert result.code == 1
    assert "| dev | ✅ met |" in result.out
    assert "| prod | ❌ not met |" in result.out


def test_a_template_edit_needs_each_environment_it_changes(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.edit(
        "strategies/alpha.yaml",
        "lookback_days: {type: int, value: 120",
        "lookback_days: {type: int, value: 130",
    )
    repo.commit("tune alpha everywhere")
    found = {v.env: v for v in (evaluate(repo.root, e, base, "HEAD") for e in ("dev", "prod"))}
    assert found["dev"].met  # no rule for dev
    assert not found["prod"].met
    assert [r.rule for r in found["prod"].rules] == ["prod-any"]
    assert repo.approve("alice", base, "prod").code == 0
    assert evaluate(repo.root, "prod", base, "HEAD").met


def test_no_policy_at_base_needs_nothing(repo: Repo) -> None:
    repo.git("rm", "-q", "-r", "policy")
    base = repo.commit("no policy")
    repo.loosen_prod()
    verdict = evaluate(repo.root, "prod", base, "HEAD")
    assert verdict.met
    assert verdict.policy == "absent"
    refused = repo.approve("alice", base)
    assert refused.code == 1
    assert "no policy/approvals.yaml at the base" in refused.err


def test_an_invalid_policy_at_base_fails_closed(repo: Repo) -> None:
    repo.edit("policy/approvals.yaml", "count: 1", "count: zero")
    base = repo.commit("break the policy")
    repo.loosen_prod()
    for env in ("dev", "prod"):
        verdict = evaluate(repo.root, env, base, "HEAD")
        assert not verdict.met
        assert verdict.policy == "invalid"
        assert "QV702" in verdict.reason


def test_a_rebase_that_changes_nothing_rendered_keeps_the_approval(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "change")
    repo.loosen_prod()
    for who in ("alice", "carol"):
        assert repo.approve(who, base).code == 0
    # main moves on with a commit that renders nothing different in prod; the branch is rebased.
    repo.git("checkout", "-q", "main")
    repo.write("README.md", "docs only\n")
    repo.commit("docs", who="bob")
    repo.git("checkout", "-q", "change")
    repo.git("rebase", "-q", "main")
    new_base = repo.git("rev-parse", "main")
    verdict = evaluate(repo.root, "prod", new_base, "HEAD")
    assert verdict.met, verdict.reason


def test_approvals_travel_with_push_and_fetch(repo: Repo, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    repo.git("remote", "add", "origin", str(remote))
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    repo.git("push", "-q", "origin", "main")
    for who in ("alice", "carol"):
        assert repo.approve(who, base, "prod", "--push").code == 0
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    assert not evaluate(clone, "prod", base, "HEAD").met  # refs/qv/ are not fetched by default
    subprocess.run(
        ["git", "fetch", "-q", "origin", "+refs/qv/approvals/*:refs/qv/approvals/*"],
        cwd=clone,
        check=True,
    )
    assert evaluate(clone, "prod", base, "HEAD").met


def test_approve_refuses_what_could_not_count(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    mine = repo.approve("dave", base)
    assert mine.code == 1
    assert "separation of duties" in mine.err
    stranger = repo.approve("mallory", base)
    assert stranger.code == 2
    assert "listed for 0 principal(s)" in stranger.err
    claimed = repo.approve("mallory", base, "prod", "--as", "bob@example.com")
    assert claimed.code == 1
    assert "not listed for bob@example.com" in claimed.err
    same = repo.approve("alice", "HEAD")
    assert same.code == 1
    assert "nothing to approve" in same.err
    missing = repo.qv("approve", "--env", "prod", "--base", base, "--key", "/nonexistent/key")
    assert missing.code == 3
    assert "no key file" in missing.err


def test_usage_errors(repo: Repo) -> None:
    assert repo.qv("approvals", "--format", "yaml").code == 2
    assert repo.qv("approvals", "--env", "../x").code == 2
    bad_rev = repo.qv("approvals", "--env", "prod", "--base", "no-such-rev")
    assert bad_rev.code == 3
    assert "no-such-rev" in bad_rev.err


def test_ssh_keygen_runs_only_in_its_door() -> None:
    package = Path(__file__).resolve().parents[2] / "src" / "qv_config"
    users = [
        p.relative_to(package).as_posix()
        for p in package.rglob("*.py")
        if '"ssh-keygen"' in p.read_text(encoding="utf-8")
    ]
    assert users == ["approvals/sshkeygen.py"]


def test_review_shows_the_approvals_still_needed(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    text = repo.qv("review", "--base", base)
    assert text.code == 0
    assert "prod: missing: rule prod-any: 1 more approver(s)" in text.out
    assert "dev: met" in text.out
    data = json.loads(repo.qv("review", "--base", base, "--format", "json").out)
    assert data["approvals"]["prod"]["met"] is False
    markdown = repo.qv("review", "--base", base, "--format", "markdown").out
    assert "### Approvals" in markdown
    assert "| prod | ❌ not met |" in markdown


def test_the_target_digest_equals_a_whole_render_of_the_target(repo: Repo) -> None:
    """The target is computed from the base and the documents that can differ: whatever the
    change (a base file, an overlay, a template, a new and a removed document), it must equal
    the digest of the target rendered whole, the one the agent applies."""
    from qv_config.approvals.change import approval_digest, compute
    from qv_config.diff.states import Workspace

    base = repo.git("rev-parse", "HEAD")
    repo.edit(
        "strategies/alpha.yaml",
        "top_quantile: {type: float, value: 0.2",
        "top_quantile: {type: float, value: 0.25",
    )
    repo.write(
        "environments/prod/flags/new-flag.yaml",
        "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: new-flag, owner: t}\n"
        "spec: {enabled: false, type: release}\n",
    )
    repo.git("rm", "-q", "environments/dev/configs/oms.yaml")
    repo.commit("mixed change")
    for env in ("dev", "prod"):
        ws = Workspace(repo.root)
        try:
            change = compute(ws, env, base, "HEAD")
        finally:
            ws.close()
        # Rendered whole, not from the states the computation above kept.
        shutil.rmtree(repo.root / ".qv" / "cache" / "approvals", ignore_errors=True)
        assert change.target_digest == approval_digest(repo.root, env, "HEAD")
        assert change.base_digest == approval_digest(repo.root, env, base)
    template = next((repo.root / "templates").rglob("*.yaml")).relative_to(repo.root).as_posix()
    repo.write(template, (repo.root / template).read_text() + "\n# a comment\n")
    repo.commit("template touched")
    computed = evaluate(repo.root, "prod", base, "HEAD").target_digest
    shutil.rmtree(repo.root / ".qv" / "cache" / "approvals", ignore_errors=True)
    assert computed == approval_digest(repo.root, "prod", "HEAD")


def test_the_default_base_is_the_deployed_revision_else_the_merge_base(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "change")
    repo.loosen_prod()
    merge_base = json.loads(repo.qv("approvals", "--env", "prod", "--format", "json").out)
    assert merge_base["environments"][0]["base_rev"] == base  # no store: merge-base with main
    repo.write("README.md", "moved on\n")
    deployed = repo.commit("a commit on the branch, then deployed")
    # A first deploy has no base an approval could name: prod's policy makes it a break-glass.
    synced = repo.qv("sync", "--env", "prod", "--rev", deployed, "--break-glass", "--reason", "1st")
    assert synced.code == 0, synced.err
    repo.edit(PROD_ENV, "max_order_notional: 2500000", "max_order_notional: 2600000")
    repo.commit("more")
    found = json.loads(repo.qv("approvals", "--env", "prod", "--format", "json").out)
    assert found["environments"][0]["base_rev"] == deployed


def test_evaluate_reads_a_bare_mirror_as_the_agent_has_one(repo: Repo, tmp_path: Path) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    for who in ("alice", "carol"):
        assert repo.approve(who, base).code == 0
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(repo.root), str(mirror)], check=True)
    gitcmd.bare_repository(mirror)  # as the agent names its mirror (git finds no bare one)
    for _ in range(2):  # cold, then from the states it kept
        verdict = evaluate(mirror, "prod", base, "HEAD")
        assert verdict.met, verdict.reason
        assert verdict.approvers == ("alice@example.com", "carol@example.com")


def test_approve_as_json_and_for_several_environments(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.edit(
        "strategies/alpha.yaml",
        "lookback_days: {type: int, value: 120",
        "lookback_days: {type: int, value: 140",
    )
    repo.commit("tune alpha everywhere")
    done = repo.approve("alice", base, "prod", "--env", "dev", "--format", "json")
    assert done.code == 0, done.err
    signed = json.loads(done.out)
    assert [s["env"] for s in signed] == ["prod", "dev"]
    assert all(s["approver"] == "alice@example.com" for s in signed)
    assert all(
        s["ref"].startswith(f"refs/qv/approvals/{s['env']}/{s['target_digest']}/") for s in signed
    )
    unknown = repo.approve("alice", base, "prod", "--as", "nobody@example.com")
    assert unknown.code == 2
    assert "not a principal" in unknown.err


def test_documents_are_diffed_field_by_field_only_where_a_rule_asks_for_risk(repo: Repo) -> None:
    from tests.approvals.conftest import change_of

    base = repo.git("rev-parse", "HEAD")
    flag = "environments/{}/flags/kill-alpha.yaml"
    for env in ("dev", "prod"):
        repo.edit(flag.format(env), "enabled: false", "enabled: true")
    repo.write(
        "environments/dev/flags/new-switch.yaml",
        "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: new-switch, owner: team-alpha}\n"
        "spec:\n  type: kill-switch\n  enabled: false\n",
    )
    repo.loosen_prod()
    dev = {d.ref: d for d in change_of(repo, base, env="dev").docs}  # no risk rule for dev
    assert {ref: d.op for ref, d in dev.items()} == {
        "flag/kill-alpha": "changed",
        "flag/new-switch": "added",
    }
    assert all(d.fields == () and d.kind == "Flag" for d in dev.values())
    prod = {d.ref: d for d in change_of(repo, base).docs}  # prod-loosen: the risk-marked diff
    assert prod["flag/kill-alpha"].fields
    assert prod["environment/prod"].loosened


def _same_section(repo: Repo, base: str) -> list[str]:
    """The review section's verdicts equal the full evaluation's (every environment rendered);
    the environments decided without rendering."""
    from qv_config.approvals import reporters
    from qv_config.approvals.run import _for_review, _unrendered, verdicts
    from qv_config.diff.states import Workspace

    quick = _for_review(repo.root, base, "HEAD", ())
    full = verdicts(repo.root, (), base, "HEAD")
    assert [(v.env, v.met, v.missing, v.notes, v.policy, v.reason) for v in quick] == [
        (v.env, v.met, v.missing, v.notes, v.policy, v.reason) for v in full
    ]
    assert reporters.markdown(quick) == reporters.markdown(full)
    ws = Workspace(repo.root)
    try:
        return sorted(_unrendered(ws, [v.env for v in full], base, "HEAD"))
    finally:
        ws.close()


def test_review_without_a_policy_at_base_renders_nothing(repo: Repo) -> None:
    repo.git("rm", "-q", "-r", "policy")
    base = repo.commit("no policy")
    repo.loosen_prod()
    assert _same_section(repo, base) == ["dev", "prod"]
    text = repo.qv("review", "--base", base)
    assert text.code == 0
    assert "prod: met" in text.out


def test_review_renders_only_the_environments_a_change_touches(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    assert _same_section(repo, base) == ["dev"]  # prod is evaluated: a rule asks for approvers


def test_review_under_an_invalid_or_edited_policy(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.edit("policy/approvals.yaml", "count: 1", "count: 3")
    repo.commit("policy edited")
    assert _same_section(repo, base) == []  # a policy edit is every environment's change
    repo.write("policy/approvals.yaml", "kind: [\n")
    broken = repo.commit("policy broken")
    repo.loosen_prod()
    assert _same_section(repo, broken) == ["dev", "prod"]  # invalid at base: fails closed


def test_a_change_through_a_link_is_seen_whatever_environment_came_first(repo: Repo) -> None:
    """One workspace evaluates every environment (``qv approvals``, review's section): dev,
    without links, must not answer for prod, whose risk policy is a link to a file that the
    change edits (the target would be taken as the base's, and its digest be wrong)."""
    from qv_config.approvals.change import compute, state_digest
    from qv_config.diff.states import Workspace

    policy = repo.root / "environments/prod/risk-policies/equity-standard.yaml"
    (repo.root / "environments/prod/data").mkdir()
    policy.rename(repo.root / "environments/prod/data/risk.txt")
    policy.symlink_to("../data/risk.txt")
    base = repo.commit("prod's risk policy through a link")
    repo.edit(
        "environments/prod/data/risk.txt",
        "max_order_notional: 1000000",
        "max_order_notional: 1500000",
    )
    repo.commit("loosened through the link")
    ws = Workspace(repo.root)
    try:
        assert compute(ws, "dev", base, "HEAD").empty
        change = compute(ws, "prod", base, "HEAD")
    finally:
        ws.close()
    assert [d.ref for d in change.docs] == ["risk-policy/equity-standard"]
    fresh = Workspace(repo.root, use_cache=False)
    try:
        assert change.target_digest == state_digest(fresh, "prod", "HEAD")
    finally:
        fresh.close()


def test_a_state_that_does_not_render_says_what_each_code_means(repo: Repo, tmp_path: Path) -> None:
    """A refused state names each problem's place and what its code means (the registry's
    summary, never the finding's own message): a link out of the repository reads as one."""
    outside = tmp_path / "outside.txt"
    outside.write_text("AGE-SECRET-KEY-1OUTSIDEMARKER\n", encoding="utf-8")
    signers = repo.root / "policy/allowed_signers"
    signers.unlink()
    signers.symlink_to(outside)
    repo.commit("signers through a link out of the repository")
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    done = repo.approvals(base)
    assert done.code == 1
    assert "policy/allowed_signers: QV111 — symbolic link that qv does not read" in done.err
    assert "OUTSIDEMARKER" not in done.out + done.err

"""`qv sync` through the gate: a dry run says what the gate would say, and a first deploy
that the policy blocks says what to run."""

from __future__ import annotations

import json

from tests.approvals.conftest import Repo

FIRST_DEPLOY = "qv sync --env prod --break-glass --reason 'first deploy of prod'"


def _history(repo: Repo) -> list[dict[str, object]]:
    found = repo.qv("history", "--env", "prod", "--format", "json")
    assert found.code == 0, found.err
    entries = json.loads(found.out)
    assert isinstance(entries, list)
    return entries


def test_a_first_deploy_the_policy_blocks_says_to_break_glass(repo: Repo) -> None:
    refused = repo.qv("sync", "--env", "prod")
    assert refused.code == 1
    assert "a first deploy has no base to approve against" in refused.err
    assert FIRST_DEPLOY in refused.err
    assert "qv approvals" not in refused.err  # no approval could help
    done = repo.qv("sync", "--env", "prod", "--break-glass", "--reason", "first deploy of prod")
    assert done.code == 0, done.err


def test_a_dry_run_of_a_first_deploy_is_gated_and_writes_nothing(repo: Repo) -> None:
    dry = repo.qv("sync", "--env", "prod", "--dry-run")
    assert dry.code == 1
    assert "dry run: the gate would refuse" in dry.err
    assert FIRST_DEPLOY in dry.err
    assert _no_store(repo)  # not even the refusal is recorded, nor an empty store made
    glass = ("--break-glass", "--reason", "first deploy of prod")
    planned = repo.qv("sync", "--env", "prod", "--dry-run", *glass)
    assert planned.code == 0, planned.err
    assert _no_store(repo)


def _no_store(repo: Repo) -> bool:
    found = repo.qv("history", "--env", "prod")
    return found.code == 3 and "there is no store" in found.err


def test_a_dry_run_reports_the_gate_before_and_after_the_approvals(repo: Repo) -> None:
    first = repo.qv("sync", "--env", "prod", "--break-glass", "--reason", "first deploy")
    assert first.code == 0, first.err
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    before = len(_history(repo))
    dry = repo.qv("sync", "--env", "prod", "--dry-run")
    assert dry.code == 1
    assert "dry run: the gate would refuse" in dry.err
    assert "rule prod-loosen: 2 more approver(s) from risk, compliance" in dry.err
    assert f"qv approvals --env prod --rev {repo.git('rev-parse', 'HEAD')[:12]}" in dry.err
    for who in ("alice", "carol"):
        assert repo.approve(who, base).code == 0
    approved = repo.qv("sync", "--env", "prod", "--dry-run")
    assert approved.code == 0, approved.err
    assert "dry run: nothing written" in approved.out
    assert "approved by alice@example.com, carol@example.com" in approved.out
    assert len(_history(repo)) == before  # a dry run writes nothing
    applied = repo.qv("sync", "--env", "prod")
    assert applied.code == 0, applied.err
    assert "approved by alice@example.com, carol@example.com" in applied.out

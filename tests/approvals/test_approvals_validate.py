"""`qv validate` checks the policy files every run: an edit after a clean run is seen (the kept
result of an unchanged tree does not hide it), and fixing it is seen too."""

from __future__ import annotations

import json

from tests.approvals.conftest import Repo


def _codes(repo: Repo) -> list[str]:
    result = repo.qv("validate", "--format", "json")
    return [f["code"] for f in json.loads(result.out)["findings"]]


def test_policy_edits_are_validated_again(repo: Repo) -> None:
    assert _codes(repo) == []
    assert _codes(repo) == []  # the kept result
    signers = (repo.root / "policy" / "allowed_signers").read_text()
    repo.write("policy/allowed_signers", signers + "eve@example.com ssh-ed25519 !!notbase64\n")
    assert _codes(repo) == ["QV710"]
    repo.edit("policy/approvals.yaml", "count: 1", "count: 1\n      cuont: 2")
    assert sorted(_codes(repo)) == ["QV702", "QV710"]
    repo.write("policy/allowed_signers", signers)
    repo.edit("policy/approvals.yaml", "count: 1\n      cuont: 2", "count: 1")
    assert _codes(repo) == []


def test_this_repository_policy_is_clean_and_names_the_policy_edit_rule() -> None:
    from pathlib import Path

    from qv_config.approvals.policy import read_policy
    from qv_config.repo.source import WorkTreeSource

    root = Path(__file__).resolve().parents[2]
    state = read_policy(WorkTreeSource(root).read, ["dev", "staging", "prod"])
    assert state.findings == ()
    assert state.model is not None
    rules = {rule.name: rule for rule in state.model.spec.rules}
    assert rules["policy-edits"].changes == ["policy"]
    assert len(state.signers.entries) == 3


def _summary(repo: Repo, *args: str) -> dict[str, int]:
    result = repo.qv("validate", "--format", "json", *args)
    assert result.code == 0, result.err
    found = json.loads(result.out)["summary"]
    return {"files": found["files"], "documents": found["documents"]}


def test_the_policy_files_are_counted(repo: Repo) -> None:
    whole = _summary(repo)
    assert whole == _summary(repo)  # the kept result says the same
    assert _summary(repo, "policy") == {"files": 2, "documents": 1}  # approvals.yaml, signers
    assert repo.qv("validate", "policy").out.strip() == "✓ valid: 1 document in 2 environments"
    signers = repo.qv("validate", "policy/allowed_signers")
    assert signers.out.strip() == "✓ valid: 1 file in 2 environments"
    flag = "environments/prod/flags/kill-alpha.yaml"
    repo.edit(flag, "owner: team-alpha", "owner: team-alpha2")  # a document: the shortcut run
    assert _summary(repo)["documents"] == whole["documents"]
    repo.git("rm", "-q", "-r", "policy")
    gone = _summary(repo)
    assert gone == {"files": whole["files"] - 2, "documents": whole["documents"] - 1}

"""Attacks on approvals: each is refused, and the verdict says why (SPEC §7, issue 11)."""

from __future__ import annotations

import subprocess

import pytest

from qv_config.approvals import Verdict, evaluate, refs
from tests.approvals.conftest import PROD_ENV, Repo, change_of, forge, signer_line


def _verdict(repo: Repo, base: str, target: str = "HEAD", env: str = "prod") -> Verdict:
    return evaluate(repo.root, env, base, target)


def _reasons(verdict: Verdict) -> dict[str, str]:
    return {r.claimed or r.where: r.reason for r in verdict.refused}


def _approved_by(repo: Repo, base: str, *people: str) -> None:
    for who in people:
        result = repo.approve(who, base)
        assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("target_digest", "0" * 64, "another target digest"),
        ("env", "dev", "another environment"),
        ("policy_digest", "1" * 64, "another policy"),
        ("base_digest", "2" * 64, "another base"),
        ("changes_digest", "3" * 64, "another change set"),
    ],
)
def test_a_statement_for_something_else_is_refused(
    repo: Repo, field: str, value: str, reason: str
) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    forge(repo, "alice", base, **{field: value})
    forge(repo, "carol", base, **{field: value})
    verdict = _verdict(repo, base)
    assert not verdict.met
    assert not verdict.approvals
    assert all(reason in r.reason for r in verdict.refused), verdict.refused
    assert len(verdict.refused) == 2


def test_alices_key_in_a_statement_claiming_bob(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    forge(repo, "alice", base, approver="bob@example.com")
    forge(repo, "mallory", base, approver="carol@example.com")
    verdict = _verdict(repo, base)
    reasons = _reasons(verdict)
    assert "signature does not verify for bob@example.com" in reasons["bob@example.com"]
    assert "signature does not verify for carol@example.com" in reasons["carol@example.com"]
    assert not verdict.approvals
    assert not verdict.met


def test_an_author_approving_their_own_change(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()  # by dave
    forge(repo, "dave", base)
    forge(repo, "alice", base)
    verdict = _verdict(repo, base)
    reason = _reasons(verdict)["dave@example.com"]
    assert "is an author of commit" in reason
    assert "separation of duties" in reason
    assert [r.approvers for r in verdict.rules] == [("alice@example.com",), ("alice@example.com",)]


def test_a_committer_and_the_promoter_never_count(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.edit(PROD_ENV, "max_order_notional: 2000000", "max_order_notional: 2500000")
    repo.commit("promote dev to prod", who="alice", trailer="Promoted-From: dev@0123456789ab")
    repo.write("README.md", "note\n")
    repo.git("add", "-A")
    subprocess.run(
        ["git", "-c", "user.email=bob@example.com", "-c", "user.name=bob", "commit", "-qm", "x",
         "--author", "dave <dave@example.com>"],
        cwd=repo.root,
        check=True,
    )  # fmt: skip
    for who in ("alice", "bob", "carol"):
        forge(repo, who, base)
    verdict = _verdict(repo, base)
    reasons = _reasons(verdict)
    assert "alice@example.com is the promoter" in reasons["alice@example.com"]
    assert "is a committer of commit" in reasons["bob@example.com"]
    assert [a.principal for a in verdict.approvals] == ["carol@example.com"]
    assert not verdict.met  # prod-loosen needs two


def test_a_revoked_key(repo: Repo) -> None:
    repo.write("policy/revoked_keys", repo.keys["alice"].with_suffix(".pub").read_text())
    repo.commit("revoke alice's key", who="carol")
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    forge(repo, "alice", base)
    verdict = _verdict(repo, base)
    assert "is revoked (policy/revoked_keys)" in _reasons(verdict)["alice@example.com"]
    refused = repo.approve("alice", base)
    assert refused.code == 1
    assert "revoked" in refused.err


def test_ssh_keygen_itself_refuses_a_revoked_key(repo: Repo) -> None:
    """The revocation list reaches ssh-keygen -r too (not only qv's own fingerprint check)."""
    from qv_config.approvals import sshkeygen

    data = b"statement"
    signature = sshkeygen.sign(repo.keys["alice"], data)
    signers = signer_line(repo.keys, "alice").encode()
    revoked = repo.keys["alice"].with_suffix(".pub").read_bytes()
    assert sshkeygen.verify(signers, "alice@example.com", signature, data, None).ok
    result = sshkeygen.verify(signers, "alice@example.com", signature, data, revoked)
    assert not result.ok
    assert "could not verify" in result.message.lower()


def test_a_policy_edit_in_the_same_change_does_not_let_it_pass(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    # The change makes mallory a principal with a key, drops every rule but one, and loosens.
    repo.write("policy/allowed_signers", signer_line(repo.keys, "mallory"))
    repo.write(
        "policy/approvals.yaml",
        "apiVersion: qv/v1\nkind: ApprovalPolicy\nmetadata: {name: test}\nspec:\n"
        "  principals: [{identity: mallory@example.com}]\n"
        "  rules: [{name: any, environments: [prod], count: 1}]\n",
    )
    repo.loosen_prod()
    forge(repo, "mallory", base)
    verdict = _verdict(repo, base)
    assert not verdict.met
    assert "not a principal of the base's policy" in _reasons(verdict)["mallory@example.com"]
    assert {r.rule for r in verdict.rules} == {"policy-edits", "prod-any", "prod-loosen"}
    assert "policy" in next(r for r in verdict.rules if r.rule == "policy-edits").because


def test_deleting_the_policy_with_a_loosening_still_needs_the_old_policy(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.git("rm", "-q", "-r", "policy")
    repo.loosen_prod()
    verdict = _verdict(repo, base)
    assert not verdict.met
    assert {r.rule for r in verdict.rules} == {"policy-edits", "prod-any", "prod-loosen"}
    dev = _verdict(repo, base, env="dev")  # the policy edit is every environment's change
    assert not dev.met
    assert [r.rule for r in dev.rules] == ["policy-edits"]


def test_a_force_push_after_approval_voids_it(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod("2500000")
    _approved_by(repo, base, "alice", "carol")
    assert _verdict(repo, base).met
    repo.edit(PROD_ENV, "max_order_notional: 2500000", "max_order_notional: 9000000")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--amend", "--no-edit")
    verdict = _verdict(repo, base)
    assert not verdict.met
    assert not verdict.approvals  # they name the old target digest, in its own folder


def test_a_replayed_approval_with_the_same_target_but_another_base(repo: Repo) -> None:
    first_base = repo.git("rev-parse", "HEAD")
    target = repo.loosen_prod("2500000")
    _approved_by(repo, first_base, "alice", "carol")
    assert _verdict(repo, first_base, target).met
    # Later prod is at another state (a tightening was deployed); a change back to the very
    # same target state must be approved again, not by replaying the first approvals.
    repo.edit(PROD_ENV, "max_order_notional: 2500000", "max_order_notional: 1000000")
    second_base = repo.commit("tighten", who="bob")
    repo.edit(PROD_ENV, "max_order_notional: 1000000", "max_order_notional: 2500000")
    again = repo.commit("loosen again")
    assert (
        change_of(repo, second_base, again).target_digest
        == change_of(repo, first_base, target).target_digest
    )
    verdict = _verdict(repo, second_base, again)
    assert not verdict.met
    assert all("another base" in r.reason for r in verdict.refused)
    assert len(verdict.refused) == 2


@pytest.mark.parametrize("cut", ["truncate", "flip", "drop", "namespace"])
def test_a_malformed_or_truncated_signature(repo: Repo, cut: str) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    ref = forge(repo, "alice", base)
    data = subprocess.run(["git", "cat-file", "blob", ref], cwd=repo.root, check=True,
                          capture_output=True).stdout  # fmt: skip
    statement, _, signature = data.partition(b"\n")
    lines = signature.splitlines()
    if cut == "truncate":
        signature = b"\n".join(lines[:3])
    elif cut == "flip":
        body = bytearray(lines[-2])  # the signature's own bytes (the key is at the start)
        body[5] = ord("A") if body[5] != ord("A") else ord("B")
        signature = b"\n".join([*lines[:-2], bytes(body), lines[-1]])
    elif cut == "drop":
        signature = b""
    else:
        signature = _other_namespace(repo)
    refs.write(repo.root, ref, statement + b"\n" + signature)
    verdict = _verdict(repo, base)
    reason = _reasons(verdict).get("alice@example.com") or _reasons(verdict)[ref]
    assert any(w in reason for w in ("malformed signature", "does not verify", "no signature")), (
        reason
    )
    assert not verdict.approvals


def _other_namespace(repo: Repo) -> bytes:
    done = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-q", "-f", str(repo.keys["alice"]), "-n", "git"],
        input=b"x",
        capture_output=True,
        check=True,
    )
    return done.stdout


def test_garbage_under_refs_qv_approvals_never_crashes(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    alice = forge(repo, "alice", base)
    folder = alice.rsplit("/", 1)[0]
    good = subprocess.run(["git", "rev-parse", alice], cwd=repo.root, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    refs.write(repo.root, f"{folder}/not-json", b"hello\n")
    refs.write(repo.root, f"{folder}/binary", bytes(range(256)) * 4)
    refs.write(repo.root, f"{folder}/huge", b"{" + b"a" * 200_000 + b"}\n-----BEGIN")
    refs.write(repo.root, f"{folder}/extra-field", b'{"a":1}\nsig')
    refs.write(repo.root, f"{folder}/deep", b"[" * 60_000 + b"\nsig")
    repo.git("update-ref", f"{folder}/a-commit", "HEAD")
    tree = repo.git("rev-parse", "HEAD^{tree}")
    repo.git("update-ref", f"{folder}/a-tree", tree)
    repo.git("update-ref", f"{folder}/copied", good)  # a valid approval under another name
    repo.git("update-ref", "refs/qv/approvals/prod/junk", good)
    repo.git("update-ref", "refs/qv/approvals/nonsense/a/b/c", good)
    verdict = _verdict(repo, base)
    reasons = {r.where.rsplit("/", 1)[1]: r.reason for r in verdict.refused}
    assert "not a qv approval statement" in reasons["not-json"]
    assert "not a qv approval statement" in reasons["binary"]
    assert "larger than" in reasons["huge"]
    assert "exactly the fields" in reasons["extra-field"]
    assert "not a qv approval statement" in reasons["deep"]
    assert "points at a commit" in reasons["a-commit"]
    assert "points at a tree" in reasons["a-tree"]
    assert "signing key is not the one its ref names" in reasons["copied"]
    assert [a.principal for a in verdict.approvals] == ["alice@example.com"]
    shown = repo.approvals(base)
    assert shown.code == 1
    assert "refused" in shown.out


def test_two_changes_approved_side_by_side_and_merged_in_turn(repo: Repo) -> None:
    """The second one's approvals bind the old base: after the first is merged (and deployed),
    the second is unapproved until its branch is brought up to date and approved again."""
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "one")
    repo.loosen_prod("2500000")
    _approved_by(repo, base, "alice", "carol")
    repo.git("checkout", "-q", "-b", "two", base)
    repo.edit("environments/prod/flags/kill-alpha.yaml", "enabled: false", "enabled: true")
    repo.commit("flip the kill switch in prod")
    _approved_by(repo, base, "bob")
    assert _verdict(repo, base, "one").met
    assert _verdict(repo, base, "two").met
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge one", "one", who="carol")
    first = repo.git("rev-parse", "HEAD")
    repo.git("merge", "-q", "--no-ff", "-m", "merge two", "two", who="carol")
    verdict = _verdict(repo, first, "HEAD")  # the agent: deployed = first merge
    assert not verdict.met
    assert verdict.approvals == ()  # two's approvals name a target main does not render
    # What the team does: approve the change as main has it now (an up-to-date branch).
    assert repo.approve("bob", first, "prod", "--rev", "HEAD").code == 0
    assert _verdict(repo, first, "HEAD").met


def test_a_change_the_diff_cannot_show_still_needs_approval(repo: Repo) -> None:
    """20 and 20.0: equal numbers, different canonical JSON: the store changes, so it is a
    change to approve (documents whose bytes differ count as changed even where no field
    shows a difference)."""
    base = repo.git("rev-parse", "HEAD")
    repo.edit(PROD_ENV, "max_drawdown_pct: 20", "max_drawdown_pct: 20.0")
    repo.commit("a float")
    verdict = _verdict(repo, base)
    assert verdict.base_digest != verdict.target_digest
    assert not verdict.met
    assert [r.rule for r in verdict.rules] == ["prod-any"]

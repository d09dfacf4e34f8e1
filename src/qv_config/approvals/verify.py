"""Which approvals count: signed ones from ``refs/qv/approvals/`` and a forge's reviews.

Every check is against the change (its digests) and the *base's* policy files. Cheap checks come
first; ssh-keygen runs only for a statement that names this very change and a known principal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from qv_config.approvals import refs
from qv_config.approvals.model import Approval, ForgeReview, Refusal, ReviewSource
from qv_config.approvals.policy import REVOKED, SIGNERS
from qv_config.approvals.signers import fingerprint

if TYPE_CHECKING:
    from pathlib import Path

    from qv_config.approvals.change import Change
    from qv_config.approvals.statement import SignedBlob
    from qv_config.models.approval_policy import ApprovalPolicy

Found = Approval | Refusal
_BOUND = (
    ("env", "signed for another environment"),
    ("target_digest", "signed for another target digest (the branch changed since)"),
    ("base_digest", "signed for another base (replayed from an earlier change?)"),
    ("changes_digest", "signed for another change set"),
    ("policy_digest", "signed under another policy than the base's"),
)


def principals(policy: ApprovalPolicy) -> dict[str, str]:
    """Lower-cased identity -> identity as the policy writes it."""
    return {p.identity.lower(): p.identity for p in policy.spec.principals}


def signed(root: Path, change: Change, policy: ApprovalPolicy) -> list[Found]:
    """Every ref under ``refs/qv/approvals/<env>/<target_digest>/``, each verified."""
    out: list[Found] = []
    for found in refs.listed(root, change.env, change.target_digest):
        if found.data is None:
            out.append(Refusal("signed", found.ref, "", found.problem))
        else:
            out.append(_one(found.ref, found.data, change, policy))
    return out


def _one(ref: str, data: bytes, change: Change, policy: ApprovalPolicy) -> Found:
    from qv_config.approvals.statement import parse_blob

    parsed = parse_blob(data)
    if isinstance(parsed, str):
        return Refusal("signed", ref, "", parsed)
    claimed = parsed.statement.approver
    reason = _binding(parsed, change) or _principal(claimed, policy)
    if reason:
        return Refusal("signed", ref, claimed, reason)
    return _signature(ref, parsed, change, principals(policy)[claimed.lower()])


def _binding(parsed: SignedBlob, change: Change) -> str:
    wanted = {
        "env": change.env,
        "target_digest": change.target_digest,
        "base_digest": change.base_digest,
        "changes_digest": change.changes_digest,
        "policy_digest": change.base_policy.digest,
    }
    for name, reason in _BOUND:
        if getattr(parsed.statement, name) != wanted[name]:
            return reason
    return ""


def _principal(claimed: str, policy: ApprovalPolicy) -> str:
    if claimed.lower() not in principals(policy):
        return f"{claimed} is not a principal of the base's policy"
    return ""


def _signature(ref: str, parsed: SignedBlob, change: Change, identity: str) -> Found:
    from qv_config.approvals import sshkeygen

    claimed = parsed.statement.approver
    key = sshkeygen.signature_key(parsed.signature)
    if isinstance(key, str):
        return Refusal("signed", ref, claimed, f"malformed signature: {key}")
    print_ = fingerprint(key)
    if ref != refs.ref_name(change.env, change.target_digest, key):
        return Refusal(
            "signed",
            ref,
            claimed,
            "its signing key is not the one its ref names (copied or altered)",
        )
    state = change.base_policy
    if print_ in state.revoked.fingerprints:
        return Refusal("signed", ref, claimed, f"key {print_} is revoked ({REVOKED})")
    signers, revoked = state.raw[SIGNERS] or b"", state.raw[REVOKED]
    verdict = sshkeygen.verify(signers, claimed, parsed.signature, parsed.signed, revoked)
    if not verdict.ok:
        return Refusal(
            "signed", ref, claimed, f"signature does not verify for {claimed}: {verdict.message}"
        )
    return Approval(identity, "signed", print_, ref, parsed.statement.created_at)


def reviewed(
    source: ReviewSource,
    change: Change,
    policy: ApprovalPolicy,
    digest_at: Callable[[str], str | None],
) -> list[Found]:
    """A forge's reviews: the last of each login counts when APPROVED, on a commit whose
    rendered state is the target, by a login the policy maps to a principal."""
    logins = {p.github.lower(): p.identity for p in policy.spec.principals if p.github}
    last: dict[str, ForgeReview] = {}
    for review in source.reviews(change.env, change.target_digest, _shas(change)):
        last[review.login.lower()] = review
    return [_review(source.name, r, logins, change, digest_at) for r in last.values()]


def _shas(change: Change) -> Sequence[str]:
    return [commit.sha for commit in change.commits]


def _review(
    name: str,
    review: ForgeReview,
    logins: dict[str, str],
    change: Change,
    digest_at: Callable[[str], str | None],
) -> Found:
    principal = logins.get(review.login.lower())
    if review.state != "APPROVED":
        return Refusal(name, review.login, principal or "", f"review state is {review.state}")
    if principal is None:
        return Refusal(name, review.login, "", f"login {review.login} maps to no principal")
    digest = digest_at(review.commit_sha)
    if digest is None:
        return Refusal(
            name,
            review.login,
            principal,
            f"reviewed commit {review.commit_sha[:12]} is not in this repository",
        )
    if digest != change.target_digest:
        return Refusal(
            name,
            review.login,
            principal,
            f"reviewed commit {review.commit_sha[:12]} renders another state (an older head?)",
        )
    return Approval(principal, name, review.login, review.commit_sha)

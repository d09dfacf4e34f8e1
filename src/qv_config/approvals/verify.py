"""Which approvals count: signed ones from ``refs/qv/approvals/`` and a forge's reviews (judged
by ``forge.reviews.judge_reviews``: the one set of review rules).

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
from qv_config.forge.types import COMMENTED

if TYPE_CHECKING:
    from pathlib import Path

    from qv_config.approvals.change import Change
    from qv_config.approvals.statement import SignedBlob
    from qv_config.forge.reviews import ReviewVerdict
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
    """Every ref under ``refs/qv/approvals/<env>/<target_digest>/``, each verified; the
    ``ssh-keygen`` processes of several run side by side (each is mostly its start-up)."""

    def check(found: refs.Found) -> Found:
        if found.data is None:
            return Refusal("signed", found.ref, "", found.problem)
        return _one(found.ref, found.data, change, policy)

    listed = refs.listed(root, change.env, change.target_digest)
    if len(listed) < 2:
        return [check(found) for found in listed]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(8, len(listed))) as pool:
        return list(pool.map(check, listed))


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
    """A forge's reviews, judged by the one set of review rules (``forge.reviews``): an
    APPROVED review counts when it is its login's latest deciding one, by a person whose login
    maps to a principal, on a commit whose rendered state is the target. What does not count is
    refused with why (a COMMENTED or PENDING review is no claim and is left out)."""
    from qv_config.forge.reviews import approvers, judge_reviews

    logins = {p.github: p.identity for p in policy.spec.principals if p.github}
    given = source.reviews(change.env, change.target_digest, _shas(change))
    verdicts = judge_reviews(
        given, target_digest=change.target_digest, digest_of=digest_at, principals=logins
    )
    counted = approvers(verdicts)
    out: list[Found] = [
        Approval(principal, source.name, v.review.login, v.review.commit_sha, _when(v.review))
        for principal, v in counted.items()
    ]
    out += [_refusal(source.name, v) for v in verdicts if not v.counts and _claims(v)]
    return out


def _shas(change: Change) -> Sequence[str]:
    return [commit.sha for commit in change.commits]


def _claims(verdict: ReviewVerdict) -> bool:
    """Whether a review that does not count is worth a line: it looked like a decision."""
    return verdict.reason != "pending" and verdict.review.state != COMMENTED


def _refusal(name: str, verdict: ReviewVerdict) -> Refusal:
    return Refusal(name, verdict.review.login, verdict.principal or "", verdict.detail)


def _when(review: ForgeReview) -> str:
    return review.submitted_at.isoformat() if review.submitted_at else ""

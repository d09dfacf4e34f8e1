"""Pull-request reviews as a second source of approvals (policy ``sources: [signed, github]``).

``GitHubReviews`` reads a pull request's reviews; ``judge_reviews`` (pure) decides which count,
for the approvals core to add to the signed approvals. A review counts only when all hold:

- it is submitted (not PENDING) and given by a person: never a bot (user type ``Bot`` or a
  login ending in ``[bot]``);
- its login maps to a principal of the governing policy (logins compare case-insensitively,
  as GitHub's do);
- it is its author's latest review that decides (APPROVED, CHANGES_REQUESTED or DISMISSED: a
  later one supersedes an earlier, a COMMENTED one does not; GitHub's rule) and it is APPROVED
  (a dismissed approval is DISMISSED);
- its commit renders to the digest being approved: a review of an older head whose rendered
  result differs never counts, one of a rebase that changed nothing rendered still does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from qv_config.errors import QvError
from qv_config.forge.github import GitHub
from qv_config.forge.types import APPROVED, CHANGES_REQUESTED, DISMISSED, PENDING, Review
from qv_config.safetext import bounded, safe

Reason = Literal[
    "counts",
    "pending",
    "bot",
    "unmapped",
    "dismissed",
    "not-approval",
    "superseded",
    "no-commit",
    "unrenderable",
    "other-digest",
]
DECISIVE = frozenset({APPROVED, CHANGES_REQUESTED, DISMISSED})


@dataclass(frozen=True, slots=True)
class ReviewVerdict:
    """Whether one review counts as an approval, and why (``detail``: one sentence, its
    forge text escaped, for reports)."""

    review: Review
    principal: str | None
    reason: Reason
    detail: str
    digest: str | None = None  # what the review's commit renders to, when it was worked out

    @property
    def counts(self) -> bool:
        return self.reason == "counts"


class GitHubReviews:
    """The reviews of a pull request on GitHub, as the approval source named ``github`` (an
    ``approvals.ReviewSource``; ``forge.source.EnvReviews`` makes one from the environment).

    The pull request is ``number`` when given (``forge.env.pull_number``: a pull_request
    workflow run, ``QV_PULL_REQUEST``), else the one GitHub associates with the change's newest
    commit: the open one whose head it is, else the only one that brought it (after a merge,
    for the agent). None found: no reviews, so none counts."""

    name = "github"

    def __init__(self, forge: GitHub, number: int | None = None) -> None:
        self.forge = forge
        self.number = number

    def reviews(self, env: str, target_digest: str, commits: Sequence[str]) -> tuple[Review, ...]:
        """The reviews of the change's pull request, oldest first (``env`` and
        ``target_digest`` are the core's to judge with)."""
        number = self.number if self.number is not None else self.pull_of(commits)
        return () if number is None else self.of_pull(number)

    def pull_of(self, commits: Sequence[str]) -> int | None:
        """The pull request of a change whose newest commit is ``commits[0]``."""
        if not commits:
            return None
        pulls = self.forge.pulls_for_commit(commits[0])
        heads = [pull for pull in pulls if pull.head_sha == commits[0]]
        chosen = heads or (pulls if len(pulls) == 1 else [])  # two candidates: neither
        return chosen[0].number if chosen else None

    def of_pull(self, number: int) -> tuple[Review, ...]:
        """Every review of pull request ``number``, oldest first."""
        return tuple(self.forge.reviews(number))

    def judge(
        self,
        number: int,
        *,
        target_digest: str,
        digest_of: Callable[[str], str | None],
        principals: Mapping[str, str],
    ) -> tuple[ReviewVerdict, ...]:
        """``judge_reviews`` of pull request ``number``'s reviews."""
        return judge_reviews(
            self.of_pull(number),
            target_digest=target_digest,
            digest_of=digest_of,
            principals=principals,
        )


def judge_reviews(
    reviews: Sequence[Review],
    *,
    target_digest: str,
    digest_of: Callable[[str], str | None],
    principals: Mapping[str, str],
) -> tuple[ReviewVerdict, ...]:
    """A verdict for each review (in the order given) by the rules of this module.

    ``digest_of(commit_sha)`` is the rendered target digest at that commit (asked once per
    commit; None or a ``QvError``, such as for a commit no longer fetched, makes the review
    not count); ``principals`` maps forge logins to principal names."""
    by_login = {login.lower(): principal for login, principal in principals.items()}
    latest = _latest_decisive(reviews)
    digests: dict[str, str | QvError] = {}

    def digest(sha: str) -> str | QvError:
        if sha not in digests:
            found: str | QvError | None
            try:
                found = digest_of(sha)
            except QvError as err:
                found = err
            digests[sha] = QvError("it cannot be rendered here") if found is None else found
        return digests[sha]

    return tuple(
        _judge(review, index == latest.get(review.login.lower()), by_login, target_digest, digest)
        for index, review in enumerate(reviews)
    )


def approvers(verdicts: Sequence[ReviewVerdict]) -> dict[str, ReviewVerdict]:
    """The principals approving, each with its (first) counting review: two logins of one
    principal are one approver."""
    found: dict[str, ReviewVerdict] = {}
    for verdict in verdicts:
        if verdict.counts and verdict.principal is not None:
            found.setdefault(verdict.principal, verdict)
    return found


def _latest_decisive(reviews: Sequence[Review]) -> dict[str, int]:
    """Per login (lower case), the index of its latest submitted decisive review."""
    order = sorted(
        (index for index, review in enumerate(reviews) if review.submitted_at is not None),
        key=lambda index: (reviews[index].submitted_at.timestamp(), index),  # type: ignore[union-attr]
    )
    latest: dict[str, int] = {}
    for index in order:
        if reviews[index].state in DECISIVE:
            latest[reviews[index].login.lower()] = index
    return latest


def _judge(
    review: Review,
    is_latest: bool,
    by_login: Mapping[str, str],
    target: str,
    digest: Callable[[str], str | QvError],
) -> ReviewVerdict:
    who = safe(review.login or "a deleted account")
    principal = by_login.get(review.login.lower()) if review.login else None

    def verdict(reason: Reason, detail: str, found: str | None = None) -> ReviewVerdict:
        return ReviewVerdict(review, principal, reason, detail, found)

    if review.state == PENDING or review.submitted_at is None:
        return verdict("pending", f"the review of {who} is not submitted")
    if review.is_bot:
        return verdict("bot", f"{who} is a bot: a bot's review never counts")
    if principal is None:
        return verdict("unmapped", f"{who} maps to no principal of the policy")
    if review.state == DISMISSED:
        return verdict("dismissed", f"the review of {who} was dismissed")
    if review.state != APPROVED:
        return verdict("not-approval", f"{who} reviewed {safe(review.state, 40)}, not APPROVED")
    if not is_latest:
        return verdict("superseded", f"a later review of {who} supersedes this approval")
    return _judge_commit(review, who, target, digest, verdict)


def _judge_commit(
    review: Review,
    who: str,
    target: str,
    digest: Callable[[str], str | QvError],
    verdict: Callable[..., ReviewVerdict],
) -> ReviewVerdict:
    if not review.commit_id:
        return verdict("no-commit", f"the approval of {who} names no commit (it was removed)")
    sha = safe(review.commit_id[:12])
    found = digest(review.commit_id)
    if isinstance(found, QvError):
        return verdict("unrenderable", f"the approval of {who} is of {sha}: {bounded(str(found))}")
    if found != target:
        return verdict(
            "other-digest", f"the approval of {who} is of {sha}, which renders another state", found
        )
    return verdict("counts", f"{who} approved {sha}, which renders the state approved", found)

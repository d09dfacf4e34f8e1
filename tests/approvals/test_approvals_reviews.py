"""Forge reviews through the ``ReviewSource`` Protocol (the GitHub source lives in forge/; this
is the rule evaluate applies to whatever a source returns)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from qv_config.approvals import ForgeReview, evaluate
from tests.approvals.conftest import PROD_ENV, Repo

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def review(login: str, commit: str, state: str = "APPROVED", minute: int = 0) -> ForgeReview:
    """A submitted review, ``minute`` minutes after the first (the latest of a login decides)."""
    return ForgeReview(login, state, commit, T0 + timedelta(minutes=minute))


@dataclass
class Reviews:
    """A ReviewSource answering with fixed reviews (and recording what it was asked)."""

    given: list[ForgeReview]
    name: str = "github"
    asked: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def reviews(
        self, env: str, target_digest: str, commits: Sequence[str]
    ) -> Sequence[ForgeReview]:
        self.asked.append((env, target_digest, tuple(commits)))
        return self.given


def test_approved_reviews_on_the_head_count(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    head = repo.loosen_prod()
    source = Reviews([review("alice-gh", head, "APPROVED"), review("Bob-GH", head, "APPROVED")])
    verdict = evaluate(repo.root, "prod", base, "HEAD", sources=[source])
    assert verdict.met, verdict.reason
    assert {(a.principal, a.source, a.key) for a in verdict.approvals} == {
        ("alice@example.com", "github", "alice-gh"),
        ("bob@example.com", "github", "Bob-GH"),
    }
    assert source.asked == [("prod", verdict.target_digest, (head,))]


def test_reviews_that_never_count(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    older = repo.loosen_prod("2500000")
    repo.edit(PROD_ENV, "max_order_notional: 2500000", "max_order_notional: 2600000")
    head = repo.commit("more")
    source = Reviews(
        [
            review("alice-gh", older, "APPROVED"),  # an older head: another state
            review("bob-gh", head, "APPROVED"),
            review("bob-gh", head, "DISMISSED", minute=1),  # the latest of a login decides
            review("dependabot[bot]", head, "APPROVED"),
            review("stranger", head, "APPROVED"),
            review("carol", "f" * 40, "APPROVED"),
        ]
    )
    verdict = evaluate(repo.root, "prod", base, "HEAD", sources=[source])
    reasons = {r.where: r.reason for r in verdict.refused}
    assert "which renders another state" in reasons["alice-gh"]
    assert reasons["bob-gh"] == "the review of bob-gh was dismissed"
    assert "is a bot" in reasons["dependabot[bot]"]
    assert "maps to no principal" in reasons["stranger"]
    assert "maps to no principal" in reasons["carol"]
    assert not verdict.approvals
    assert not verdict.met


def test_a_review_of_a_commit_missing_here(repo: Repo) -> None:
    base = repo.git("rev-parse", "HEAD")
    repo.loosen_prod()
    source = Reviews([review("alice-gh", "e" * 40, "APPROVED")])
    verdict = evaluate(repo.root, "prod", base, "HEAD", sources=[source])
    assert "is of eeeeeeeeeeee: unknown revision" in verdict.refused[0].reason


def test_a_policy_without_the_source_ignores_it(repo: Repo) -> None:
    repo.edit("policy/approvals.yaml", "sources: [signed, github]", "sources: [signed]")
    base = repo.commit("signed approvals only", who="carol")
    head = repo.loosen_prod()
    source = Reviews([review("alice-gh", head, "APPROVED"), review("bob-gh", head, "APPROVED")])
    verdict = evaluate(repo.root, "prod", base, "HEAD", sources=[source])
    assert not verdict.met
    assert not source.asked


def test_an_author_reviewing_through_the_forge_does_not_count(repo: Repo) -> None:
    """A commit made on GitHub carries the login's noreply address: still alice's."""
    base = repo.git("rev-parse", "HEAD")
    head = repo.web_edit()
    source = Reviews([review("alice-gh", head, "APPROVED"), review("bob-gh", head, "APPROVED")])
    verdict = evaluate(repo.root, "prod", base, "HEAD", sources=[source])
    reason = {r.where: r.reason for r in verdict.refused}.get("alice-gh", repr(verdict))
    assert "alice@example.com is an author of commit" in reason

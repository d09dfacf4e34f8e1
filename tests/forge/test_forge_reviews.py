"""Forge reviews as approvals (``forge.reviews``): which count, and why the others do not. The
rules are tested on the pure ``judge_reviews``, then end to end: reviews read from the fake
GitHub server, and digests rendered from real commits of a real repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qv_config.errors import GitError
from qv_config.forge.github import GitHub
from qv_config.forge.reviews import GitHubReviews, ReviewVerdict, approvers, judge_reviews
from qv_config.forge.types import Review
from tests.forge.fakehub import TOKEN, FakeGitHub
from tests.output.hostile import git, starter_repo

HEAD, OLD, REBASED, GONE = "1" * 40, "2" * 40, "3" * 40, "4" * 40
TARGET = "sha256:target"
DIGESTS = {HEAD: TARGET, OLD: "sha256:older", REBASED: TARGET}
PRINCIPALS = {"alice-gh": "alice@quantivista.example", "Bob": "bob@quantivista.example"}
T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def review(
    login: str, state: str = "APPROVED", commit: str | None = HEAD, minute: int = 0, **kw: str
) -> Review:
    return Review(login, state, commit, T0 + timedelta(minutes=minute), **kw)  # type: ignore[arg-type]


def digest_of(sha: str) -> str:
    if sha not in DIGESTS:
        raise GitError(f"unknown revision {sha[:12]}", hint="git fetch")
    return DIGESTS[sha]


def judge(*reviews: Review) -> tuple[ReviewVerdict, ...]:
    return judge_reviews(reviews, target_digest=TARGET, digest_of=digest_of, principals=PRINCIPALS)


def reasons(*reviews: Review) -> list[str]:
    return [verdict.reason for verdict in judge(*reviews)]


def test_an_approval_of_the_head_by_a_mapped_login_counts() -> None:
    (verdict,) = judge(review("alice-gh"))
    assert verdict.counts
    assert verdict.principal == "alice@quantivista.example"
    assert verdict.digest == TARGET
    assert verdict.detail == "alice-gh approved 111111111111, which renders the state approved"


def test_an_approval_of_an_older_head_that_renders_the_same_counts() -> None:
    """A rebase that changes nothing rendered keeps the approval."""
    assert reasons(review("alice-gh", commit=REBASED)) == ["counts"]


def test_an_approval_of_an_older_head_that_renders_otherwise_never_counts() -> None:
    (verdict,) = judge(review("alice-gh", commit=OLD))
    assert (verdict.reason, verdict.digest) == ("other-digest", "sha256:older")
    assert "renders another state" in verdict.detail


def test_a_dismissed_review_never_counts() -> None:
    assert reasons(review("alice-gh", "DISMISSED")) == ["dismissed"]


@pytest.mark.parametrize(
    ("login", "user_type"),
    [("renovate[bot]", "Bot"), ("qv-approver", "Bot"), ("dependabot[bot]", "User")],
)
def test_a_bots_review_never_counts_even_when_mapped(login: str, user_type: str) -> None:
    principals = {**PRINCIPALS, login: "alice@quantivista.example"}
    (verdict,) = judge_reviews(
        [review(login, user_type=user_type)],
        target_digest=TARGET,
        digest_of=digest_of,
        principals=principals,
    )
    assert verdict.reason == "bot"


def test_an_unmapped_login_never_counts() -> None:
    (verdict,) = judge(review("mallory"))
    assert verdict.reason == "unmapped"
    assert verdict.principal is None
    assert verdict.detail == "mallory maps to no principal of the policy"


def test_logins_compare_case_insensitively_as_on_github() -> None:
    assert reasons(review("ALICE-GH"), review("bob", minute=1)) == ["counts", "counts"]


def test_a_later_review_supersedes_an_earlier_approval() -> None:
    assert reasons(review("alice-gh"), review("alice-gh", "CHANGES_REQUESTED", minute=1)) == [
        "superseded",
        "not-approval",
    ]


def test_a_later_approval_supersedes_a_request_for_changes() -> None:
    assert reasons(review("Bob", "CHANGES_REQUESTED"), review("Bob", minute=1)) == [
        "not-approval",
        "counts",
    ]


def test_a_comment_does_not_supersede_an_approval() -> None:
    """GitHub keeps an approval when its author comments afterwards."""
    assert reasons(review("alice-gh"), review("alice-gh", "COMMENTED", minute=1)) == [
        "counts",
        "not-approval",
    ]


def test_a_dismissal_of_the_latest_approval_leaves_none() -> None:
    """An approval, a second one, the second dismissed: the first is superseded by it."""
    verdicts = reasons(
        review("alice-gh", commit=OLD),
        review("alice-gh", minute=1),
        review("alice-gh", "DISMISSED", minute=2),
    )
    assert verdicts == ["superseded", "superseded", "dismissed"]


def test_order_is_by_submission_time_not_list_order() -> None:
    late, early = review("Bob", minute=5), review("Bob", "CHANGES_REQUESTED", minute=1)
    assert reasons(late, early) == ["counts", "not-approval"]


def test_a_pending_review_never_counts() -> None:
    pending = Review("alice-gh", "PENDING", HEAD, None)
    assert reasons(pending) == ["pending"]


def test_a_review_whose_commit_is_gone_never_counts() -> None:
    assert reasons(review("alice-gh", commit=None)) == ["no-commit"]
    (verdict,) = judge(review("Bob", commit=GONE))
    assert verdict.reason == "unrenderable"
    assert "unknown revision 444444444444" in verdict.detail


def test_a_deleted_account_never_counts() -> None:
    ghost = Review("", "APPROVED", HEAD, T0, user_type="")
    (verdict,) = judge(ghost)
    assert (verdict.reason, verdict.detail) == (
        "unmapped",
        "a deleted account maps to no principal of the policy",
    )


def test_each_commit_is_rendered_once() -> None:
    asked: list[str] = []

    def counting(sha: str) -> str:
        asked.append(sha)
        return digest_of(sha)

    reviews = [review("alice-gh"), review("Bob", minute=1), review("Bob", "COMMENTED", minute=2)]
    judge_reviews(reviews, target_digest=TARGET, digest_of=counting, principals=PRINCIPALS)
    assert asked == [HEAD]


def test_other_errors_of_the_digest_are_not_swallowed() -> None:
    def broken(sha: str) -> str:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        judge_reviews(
            [review("Bob")], target_digest=TARGET, digest_of=broken, principals=PRINCIPALS
        )


def test_two_logins_of_one_principal_are_one_approver() -> None:
    principals = {"alice-gh": "alice@q", "alice-work": "alice@q", "Bob": "bob@q"}
    verdicts = judge_reviews(
        [review("alice-gh"), review("alice-work", minute=1), review("bob", minute=2)],
        target_digest=TARGET,
        digest_of=digest_of,
        principals=principals,
    )
    assert sorted(approvers(verdicts)) == ["alice@q", "bob@q"]
    assert approvers(verdicts)["alice@q"].review.login == "alice-gh"


def test_forge_text_in_a_verdict_is_escaped() -> None:
    (verdict,) = judge(review("evil\x1b[31m\u202e"))
    assert "\x1b" not in verdict.detail
    assert "\\x1b[31m\\u202e" in verdict.detail


# -- end to end: the fake GitHub server and a real repository ---------------------------------


def commit_edit(root: Path, old: str, new: str, message: str) -> str:
    path = root / "environments/dev/strategies/example-momentum.yaml"
    path.write_text(path.read_text().replace(old, new, 1))
    git(root, "commit", "-qam", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return starter_repo(tmp_path)


def test_reviews_from_github_judged_on_rendered_digests(repo: Path, hub: FakeGitHub) -> None:
    """alice approves the first head; a commit that only edits a comment keeps her approval;
    bob approves that; a commit that changes dev's configuration voids both; carol approves
    the new head; a bot and an unmapped login approve too and never count."""
    from qv_config.store.source import render_desired

    first = commit_edit(repo, "# dev overlay", "# dev overlay (draft)", "comment")
    hub.add_review("octo/trading-config", 1, "alice-gh", "APPROVED", first)
    same = commit_edit(repo, "(draft)", "(draft, reviewed)", "comment again")
    hub.add_review("octo/trading-config", 1, "Bob", "APPROVED", same)
    changed = commit_edit(repo, "activation: active", "activation: inactive", "stop it")
    hub.add_review("octo/trading-config", 1, "carol", "APPROVED", changed)
    hub.add_review("octo/trading-config", 1, "qv-bot[bot]", "APPROVED", changed, user_type="Bot")
    hub.add_review("octo/trading-config", 1, "mallory", "APPROVED", changed)
    hub.repos["octo/trading-config"].pulls[1] = {
        "title": "t",
        "body": "",
        "head": "main",
        "base": "main",
    }

    def digest_at(sha: str) -> str:
        return render_desired(repo, "dev", sha).digest

    principals = {"alice-gh": "alice@q", "bob": "bob@q", "carol": "carol@q"}
    source = GitHubReviews(GitHub("octo/trading-config", TOKEN, hub.url))
    at_same = source.judge(
        1, target_digest=digest_at(same), digest_of=digest_at, principals=principals
    )
    assert sorted(approvers(at_same)) == ["alice@q", "bob@q"]
    at_changed = source.judge(
        1, target_digest=digest_at(changed), digest_of=digest_at, principals=principals
    )
    assert [v.reason for v in at_changed] == [
        "other-digest",
        "other-digest",
        "counts",
        "bot",
        "unmapped",
    ]
    assert sorted(approvers(at_changed)) == ["carol@q"]


def test_a_commit_the_repository_lacks_makes_a_review_not_count(repo: Path) -> None:
    from qv_config.store.source import render_desired

    def digest_at(sha: str) -> str:
        return render_desired(repo, "dev", sha).digest

    head = git(repo, "rev-parse", "HEAD")
    verdicts = judge_reviews(
        [review("alice-gh", commit=head), review("Bob", commit="f" * 40, minute=1)],
        target_digest=digest_at(head),
        digest_of=digest_at,
        principals=PRINCIPALS,
    )
    assert [v.reason for v in verdicts] == ["counts", "unrenderable"]


def test_the_source_finds_the_pull_request_of_the_change(hub: FakeGitHub) -> None:
    """As the approvals core asks: the reviews of the pull request whose head is the change's
    newest commit; after a merge, of the one pull request that brought it; with two
    candidates and neither its head, of none (nothing counts rather than the wrong ones)."""
    state = hub.repos["octo/trading-config"]
    state.branches.update({"qv/a": HEAD, "qv/b": OLD})
    state.pulls[1] = {"title": "a", "body": "", "head": "qv/a", "base": "main"}
    state.pulls[2] = {"title": "b", "body": "", "head": "qv/b", "base": "main"}
    hub.add_review("octo/trading-config", 1, "alice-gh", "APPROVED", HEAD)
    hub.add_review("octo/trading-config", 2, "Bob", "APPROVED", OLD)
    state.commit_pulls.update({HEAD: [2, 1], REBASED: [2], GONE: [1, 2]})
    source = GitHubReviews(GitHub("octo/trading-config", TOKEN, hub.url))
    assert source.name == "github"
    assert [r.login for r in source.reviews("dev", TARGET, [HEAD, OLD])] == ["alice-gh"]
    assert [r.login for r in source.reviews("dev", TARGET, [REBASED])] == ["Bob"]
    assert source.reviews("dev", TARGET, [GONE]) == ()
    assert source.reviews("dev", TARGET, []) == ()
    given = GitHubReviews(GitHub("octo/trading-config", TOKEN, hub.url), number=2)
    (review,) = given.reviews("dev", TARGET, [HEAD])
    assert (review.login, review.commit_sha) == ("Bob", OLD)


def test_a_digest_of_none_is_a_commit_that_cannot_be_rendered() -> None:
    """The approvals core's digest function answers None where it cannot render."""
    verdicts = judge_reviews(
        [review("alice-gh"), review("Bob", commit=GONE, minute=1)],
        target_digest=TARGET,
        digest_of=DIGESTS.get,
        principals=PRINCIPALS,
    )
    assert [(v.reason, v.detail) for v in verdicts] == [
        ("counts", "alice-gh approved 111111111111, which renders the state approved"),
        ("unrenderable", "the approval of Bob is of 444444444444: it cannot be rendered here"),
    ]

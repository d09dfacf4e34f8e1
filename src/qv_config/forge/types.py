"""What the forge answers, as qv uses it: frozen values, never GitHub's loose JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Review states of GitHub's REST API (``pull-request-review.state``).
APPROVED = "APPROVED"
CHANGES_REQUESTED = "CHANGES_REQUESTED"
COMMENTED = "COMMENTED"
DISMISSED = "DISMISSED"
PENDING = "PENDING"


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request: its number, its web page, and the commit its head branch points at.
    ``created`` is true only when ``GitHub.open_pull`` opened it (false: it existed and its
    body was updated, or it was looked up)."""

    number: int
    url: str
    head_sha: str
    head_ref: str = ""
    base_ref: str = ""
    created: bool = False


@dataclass(frozen=True, slots=True)
class Review:
    """One submitted review of a pull request, with what the approval rules look at. ``login``
    and ``state`` come from the forge: escape them (``safetext``) before they reach output."""

    login: str
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    commit_id: str | None  # the head commit the review was given on; None once GC'd
    submitted_at: datetime | None  # None while PENDING (not submitted)
    user_type: str = "User"  # "User", "Bot", "Organization"; "" for a deleted account
    review_id: int = 0

    @property
    def commit_sha(self) -> str:
        """``commit_id``, "" when GitHub no longer has the commit (never renders)."""
        return self.commit_id or ""

    @property
    def is_bot(self) -> bool:
        """A GitHub App or other bot account: its reviews never count as a person's."""
        return self.user_type == "Bot" or self.login.lower().endswith("[bot]")


@dataclass(frozen=True, slots=True)
class PullCommit:
    """A commit of a pull request and the GitHub accounts of its author and committer (None
    when the e-mail maps to no account)."""

    sha: str
    author_login: str | None
    committer_login: str | None

"""Results of evaluating a change against its policy, and the Protocol of forge review sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from qv_config.forge.types import Review

PolicyStatus = Literal["absent", "valid", "invalid"]
# One review of the change on a forge, as the forge reports it: one type for the forge and the
# core (login, state, commit, submitted_at, user type), judged by ``forge.reviews.judge_reviews``.
ForgeReview = Review


class ReviewSource(Protocol):
    """A forge's reviews of a change (``qv_config.forge`` implements GitHub's). ``commits`` are
    the change's commits, newest first; the source returns the reviews of its pull request in
    the order they were given (the last of a login is the one that counts)."""

    name: str  # the policy's source name, e.g. "github"

    def reviews(
        self, env: str, target_digest: str, commits: Sequence[str]
    ) -> Sequence[ForgeReview]: ...


@dataclass(frozen=True, slots=True)
class Approval:
    """An approval that verified: who (a principal of the base's policy), from where, with what."""

    principal: str
    source: str  # "signed" | a ReviewSource's name
    key: str  # SSH key fingerprint, or the forge login
    where: str  # the ref, or the reviewed commit
    created_at: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Something that looked like an approval and does not count, and why."""

    source: str
    where: str  # ref name, or forge login
    claimed: str  # the approver it names ("" when unreadable)
    reason: str


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    description: str
    count: int
    from_groups: tuple[str, ...]
    because: tuple[str, ...]  # the change types of the change that the rule matched
    approvers: tuple[str, ...]  # distinct principals that count for it

    @property
    def missing(self) -> int:
        return max(0, self.count - len(self.approvers))

    @property
    def met(self) -> bool:
        return self.missing == 0

    def need(self) -> str:
        groups = f" from {', '.join(self.from_groups)}" if self.from_groups else ""
        return f"rule {self.rule}: {self.missing} more approver(s){groups}"


@dataclass(frozen=True)
class Verdict:
    env: str
    base_rev: str
    target_rev: str
    base_digest: str
    target_digest: str
    changes_digest: str
    policy_digest: str
    policy: PolicyStatus
    met: bool
    reason: str  # one line: why met, or what blocks
    rules: tuple[RuleResult, ...] = ()
    approvals: tuple[Approval, ...] = ()
    refused: tuple[Refusal, ...] = ()
    base_source: str = ""  # how the base was chosen: "--base", "deployed (store _meta)", ...
    notes: tuple[str, ...] = ()  # a source the policy lists that was not consulted, and why

    @property
    def approvers(self) -> tuple[str, ...]:
        """Distinct principals that count for at least one rule (recorded in ``_meta``)."""
        return tuple(sorted({a for rule in self.rules for a in rule.approvers}))

    @property
    def missing(self) -> tuple[str, ...]:
        if not self.met and not self.rules:
            return (self.reason,)
        return tuple(rule.need() for rule in self.rules if not rule.met)

"""The one place the deploy gate asks the approvals core whether a change is approved.

``qv_config.approvals.evaluate`` reads the policy, ``allowed_signers`` and ``revoked_keys`` of
the base revision, the signed approvals under ``refs/qv/approvals/`` of the repository, and
says which rules are met. This module turns its ``Verdict`` into the ``Outcome`` the gate needs,
and adds what a deploy needs besides: a base policy that cannot be read is a refusal (never
"absent"), and a first deploy, with no base, is judged by the target's own policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.errors import CheckFailed

if TYPE_CHECKING:
    from qv_config.approvals import Verdict
    from qv_config.approvals.policy import PolicyState
    from qv_config.gate.rendered import Rendered
    from qv_config.models.approval_policy import Rule


class GateUnreadable(CheckFailed):
    """Something that governs the change (the policy, its signers) cannot be read: refuse."""


@dataclass(frozen=True)
class Outcome:
    """The approvals core's answer about one change of one environment."""

    required: bool  # the governing policy asks approvals of this change at all
    met: bool
    approvers: tuple[str, ...] = ()  # principals whose approvals counted
    missing: tuple[str, ...] = ()  # one line per unmet rule: its name and what it still needs
    ignored: tuple[str, ...] = ()  # approvals found that did not count, each with why


def evaluate(
    repo: Path,
    env: str,
    base_rev: str | None,
    target_rev: str,
    *,
    base_digest: str | None,
    target_digest: str,
    rendered: Rendered | None = None,
) -> Outcome:
    """Whether the change ``base_rev`` → ``target_rev`` of ``env`` is approved under the policy
    of ``base_rev`` (of ``target_rev`` on a first deploy, when nothing older governs).
    ``base_digest`` and ``target_digest`` are the deployed and rendered digests; approvals bind
    to the digests of the committed states. ``rendered``: both states as the caller rendered
    them, used instead of rendering them again when their digests are those (no secrets)."""
    governing = _policy(repo, base_rev or target_rev)
    if not governing.exists:
        return Outcome(required=False, met=True)
    if governing.model is None:
        raise GateUnreadable(_invalid(governing))
    if base_rev is None:
        return _first_deploy(governing, env)
    if not _rules_for(governing, env):
        return Outcome(required=False, met=True)  # nothing to ask: no change is computed
    return _outcome(_verdict(repo, env, base_rev, target_rev, rendered))


def _verdict(
    repo: Path, env: str, base_rev: str, target_rev: str, rendered: Rendered | None
) -> Verdict:
    from qv_config.approvals import evaluate as verdict_of
    from qv_config.forge.source import EnvReviews

    # GitHub is consulted only when the base's policy lists it and the agent has a token
    # (GITHUB_TOKEN in its environment); without one the verdict notes why (docs/agent.md).
    with EnvReviews(repo) as github:
        if rendered is None or not rendered.usable:
            return verdict_of(repo, env, base_rev, target_rev, sources=[github])
        from qv_config.approvals.evaluate import decide
        from qv_config.diff.states import Workspace
        from qv_config.gate.rendered import change_from

        ws = Workspace(repo)
        try:
            return decide(ws, change_from(ws, env, rendered), [github])
        finally:
            ws.close()


def _policy(repo: Path, rev: str) -> PolicyState:
    """The policy files at ``rev``, read strictly: a link out of the tree in their place is a
    policy that cannot be read, never an absent one (which would ask nothing)."""
    from qv_config.approvals.policy import read_policy
    from qv_config.repo.files import RefusedFile
    from qv_config.repo.git import GitSource

    source = GitSource(repo, rev)
    try:
        return read_policy(source.read_strict)
    except RefusedFile as err:
        raise GateUnreadable(f"{err.message} at {rev[:12]}") from None
    finally:
        source.close()


def _first_deploy(policy: PolicyState, env: str) -> Outcome:
    """Nothing deployed: every document is added, and no approval can name a base, so a rule
    of ``env`` for added documents or any change leaves it unmet (such a first deploy is a
    break-glass, on purpose). Kinds and selectors are not looked at: a rule counts if it might
    match (fail closed); a rule for policy edits, loosening or tightening does not."""
    rules = [r for r in _rules_for(policy, env) if {"add", "any"} & set(r.changes)]
    if not rules:
        return Outcome(required=False, met=True)
    missing = tuple(f"rule {r.name}: a first deploy has no base to approve against" for r in rules)
    return Outcome(required=True, met=False, missing=missing)


def _rules_for(policy: PolicyState, env: str) -> list[Rule]:
    assert policy.model is not None
    return [r for r in policy.model.spec.rules if any(fnmatchcase(env, p) for p in r.environments)]


def _invalid(policy: PolicyState) -> str:
    first = policy.errors[0] if policy.errors else None
    where = f" ({first.file}:{first.line}: {first.code} {first.message})" if first else ""
    return f"the policy is invalid{where}: nothing can be approved"


def _outcome(verdict: Verdict) -> Outcome:
    if verdict.policy == "invalid":
        raise GateUnreadable(verdict.reason)
    ignored = tuple(f"{r.where}: {r.reason}" for r in verdict.refused)
    return Outcome(
        required=bool(verdict.rules),
        met=verdict.met,
        approvers=verdict.approvers,
        missing=(*verdict.missing, *verdict.notes) if not verdict.met else (),
        ignored=ignored,
    )

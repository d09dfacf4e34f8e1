"""The one place the deploy gate asks the approvals core whether a change is approved.

INTERIM: the approvals core (``qv_config.approvals``: the ApprovalPolicy model, signed approvals
under ``refs/qv/approvals/``) is being built beside this gate. Until it is merged, this module
reads ``policy/approvals.yaml`` of the governing revision itself and verifies no approval: a
change that any rule asks approvals of is unmet, so nothing gated is ever let through (fail
closed). Only this module changes when the core is wired in; ``Outcome`` is what the gate needs.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.errors import CheckFailed

POLICY_PATH = "policy/approvals.yaml"
_ENV_FIELDS = ("environments", "environment", "envs", "env")
_COUNT_FIELDS = ("count", "require", "required", "approvals", "min_approvals")


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
) -> Outcome:
    """Whether the change ``base_rev`` → ``target_rev`` of ``env`` is approved under the policy
    of ``base_rev`` (of ``target_rev`` on a first deploy, when nothing older governs)."""
    policy_rev = base_rev or target_rev
    raw = _read_policy(repo, policy_rev)
    if raw is None:
        return Outcome(required=False, met=True)
    rules = _needing(raw, env)
    if not rules:
        return Outcome(required=False, met=True)
    missing = tuple(f"{name}: 0 of {count} approvals" for name, count in rules)
    return Outcome(required=True, met=False, missing=missing)


def _read_policy(repo: Path, rev: str) -> bytes | None:
    from qv_config.repo.files import RefusedFile
    from qv_config.repo.git import GitSource

    source = GitSource(repo, rev)
    try:
        return source.read_strict(POLICY_PATH)
    except RefusedFile as err:  # e.g. a link out of the tree: never read, never "absent"
        raise GateUnreadable(err.message) from None
    finally:
        source.close()


def _needing(raw: bytes, env: str) -> list[tuple[str, int]]:
    """(name, count) of each rule matching ``env`` that asks for approvers."""
    from qv_config.yamlio import YamlError, load_bytes

    try:
        data = load_bytes(POLICY_PATH, raw).data
        return [(n, c) for n, c in _rules(data, env) if c > 0]
    except (YamlError, ValueError) as err:
        raise GateUnreadable(f"{POLICY_PATH} is unreadable ({err})") from None


def _rules(policy: Any, env: str) -> list[tuple[str, int]]:
    spec = policy.get("spec") if isinstance(policy, dict) else None
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise ValueError("spec.rules must be a list")
    found = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise ValueError("each rule must be a mapping")
        envs = _rule_envs(rule)
        if envs is None or any(fnmatch.fnmatchcase(env, pattern) for pattern in envs):
            found.append((str(rule.get("name") or f"rule {i + 1}"), _rule_count(rule)))
    return found


def _rule_envs(rule: dict[str, Any]) -> list[str] | None:
    for name in _ENV_FIELDS:
        if name in rule:
            value = rule[name]
            return [value] if isinstance(value, str) else [str(v) for v in value or []]
    return None  # a rule without an environment applies to every environment


def _rule_count(rule: dict[str, Any]) -> int:
    for name in _COUNT_FIELDS:
        value = rule.get(name)
        if isinstance(value, dict):
            value = value.get("count")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return 1  # a rule whose count we cannot read requires approval: fail closed

"""The approval gate between a rendered state and the store (SPEC §7: only the interface now).

``ApprovalGate`` is what the agent asks before each state; ``PolicyGate`` is the interim default:
it reads ``policy/approvals.yaml`` at the target revision and approves only when no rule for the
environment requires approvals. Everything it cannot read is a refusal: the agent fails closed.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any, Protocol

from qv_config.agent.source import GitMirror
from qv_config.store.types import Plan

POLICY_PATH = "policy/approvals.yaml"
_ENV_FIELDS = ("environments", "environment", "envs", "env")
_COUNT_FIELDS = ("count", "require", "required", "approvals", "min_approvals")


@dataclass(frozen=True)
class GateDecision:
    approved: bool
    approvals: tuple[str, ...]  # approver principals that counted (recorded in _meta and audit)
    reason: str


class ApprovalGate(Protocol):
    def check(
        self,
        env: str,
        base_rev: str | None,
        target_rev: str,
        base_digest: str | None,
        target_digest: str,
        changes: Plan,
    ) -> GateDecision: ...


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


def required_approvals(policy: Any, env: str) -> int:
    """The largest approver count any rule matching ``env`` asks for (0: none needed)."""
    spec = policy.get("spec") if isinstance(policy, dict) else None
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if rules is None:
        return 0
    if not isinstance(rules, list):
        raise ValueError("spec.rules must be a list")
    needed = 0
    for rule in rules:
        if not isinstance(rule, dict):
            raise ValueError("each rule must be a mapping")
        envs = _rule_envs(rule)
        if envs is None or any(fnmatch.fnmatchcase(env, pattern) for pattern in envs):
            needed = max(needed, _rule_count(rule))
    return needed


class PolicyGate:
    """Approves when ``policy/approvals.yaml`` is absent or asks nothing of this environment."""

    def __init__(self, mirror: GitMirror) -> None:
        self._mirror = mirror

    def check(
        self,
        env: str,
        base_rev: str | None,
        target_rev: str,
        base_digest: str | None,
        target_digest: str,
        changes: Plan,
    ) -> GateDecision:
        from qv_config.repo.files import RefusedFile
        from qv_config.yamlio import YamlError, load_bytes

        try:
            raw = self._mirror.read_file(target_rev, POLICY_PATH)
        except RefusedFile as err:  # e.g. a link out of the tree: never read, never "absent"
            return GateDecision(False, (), f"{err.message}: refusing")
        if raw is None:
            return GateDecision(True, (), f"no {POLICY_PATH}: nothing to approve")
        try:
            needed = required_approvals(load_bytes(POLICY_PATH, raw).data, env)
        except (YamlError, ValueError) as err:
            return GateDecision(False, (), f"{POLICY_PATH} is unreadable ({err}): refusing")
        if needed == 0:
            return GateDecision(True, (), f"{POLICY_PATH} requires no approvals for {env}")
        return GateDecision(
            False,
            (),
            f"approvals required by {POLICY_PATH} ({needed} for {env}); approvals land with the"
            " approvals issue",
        )

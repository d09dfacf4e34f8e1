"""The approval gate between a rendered state and the store, as the agent asks it (SPEC §7).

``ApprovalGate`` is what the agent asks before each state; ``SignedApprovalGate`` is the default:
``qv_config.gate.check`` in the agent's bare mirror, whose ``git fetch`` copies every ref of the
source, ``refs/qv/approvals/*`` included, each cycle. The policy that governs a state is the
deployed state's (``base_rev``), never the target's; anything unreadable refuses.
"""

from __future__ import annotations

from typing import Protocol

from qv_config.agent.source import GitMirror
from qv_config.gate.check import GateDecision
from qv_config.gate.rendered import Rendered
from qv_config.store.types import Plan

__all__ = ["ApprovalGate", "GateDecision", "Rendered", "SignedApprovalGate"]


class ApprovalGate(Protocol):
    def check(
        self,
        env: str,
        base_rev: str | None,
        target_rev: str,
        base_digest: str | None,
        target_digest: str,
        changes: Plan,
        rendered: Rendered | None = None,
    ) -> GateDecision: ...


class SignedApprovalGate:
    """Approves what the policy of the deployed revision lets through, with verified approvals."""

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
        rendered: Rendered | None = None,
    ) -> GateDecision:
        from qv_config.gate import check

        path = self._mirror.path
        return check(path, env, base_rev, base_digest, target_rev, target_digest, rendered)

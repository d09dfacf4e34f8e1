"""Signed, digest-bound approvals and the approval policy (SPEC §7, docs/approvals.md).

The core API (docs/architecture.md): ``evaluate(root, env, base_rev, target_rev, *, sources=)``
returns a ``Verdict``; ``ReviewSource`` is the Protocol a forge implements to add its reviews.
"""

from qv_config.approvals.change import approval_digest
from qv_config.approvals.evaluate import evaluate
from qv_config.approvals.model import (
    Approval,
    ForgeReview,
    Refusal,
    ReviewSource,
    RuleResult,
    Verdict,
)

__all__ = [
    "Approval",
    "ForgeReview",
    "Refusal",
    "ReviewSource",
    "RuleResult",
    "Verdict",
    "approval_digest",
    "evaluate",
]

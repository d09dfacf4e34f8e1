"""QV7xx: the approval policy (``policy/approvals.yaml``, ``allowed_signers``, ``revoked_keys``).

Stage "files": checked once per run over the snapshot's state, whatever environments were asked
(the policy governs them all). A repository without ``policy/`` has nothing to check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from qv_config.findings import Finding, Severity
from qv_config.validate.registry import rule

if TYPE_CHECKING:
    from qv_config.repo.types import Snapshot


@rule("QV701", stage="files", summary="approval policy is not readable YAML (or too large)")
@rule("QV702", stage="files", summary="approval policy does not match its schema")
@rule("QV703", stage="files", summary="approval policy names an unknown group, environment or kind")
@rule(
    "QV704",
    stage="files",
    severity=Severity.WARNING,
    summary="approval rule needs more approvers than can approve it",
)
@rule(
    "QV705",
    stage="files",
    severity=Severity.WARNING,
    summary="principal with no allowed signer key and no forge login",
)
@rule("QV710", stage="files", summary="malformed line in policy/allowed_signers")
@rule("QV711", stage="files", summary="malformed line in policy/revoked_keys")
def approval_policy(snapshot: Snapshot, envs: Sequence[str]) -> list[Finding]:
    return policy_findings(snapshot)


def policy_findings(snapshot: Snapshot) -> list[Finding]:
    """The QV7xx findings of the snapshot's policy files (none without them)."""
    if not any(path.startswith("policy/") for path in snapshot.digests):
        return []  # nothing to check: spare the run importing the approvals package
    from qv_config.approvals.policy import read_policy

    return list(read_policy(snapshot.read, snapshot.env_names).findings)

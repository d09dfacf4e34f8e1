"""``check``: the gate's decision about one state, failing closed on anything it cannot read.

The governing revision is the deployed one (``base_rev``), whatever the target brings: a commit
that deletes ``policy/approvals.yaml`` and loosens a limit is judged by the policy it deletes.
Only a first deploy, with nothing deployed to govern it, is judged by the target's own policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qv_config.errors import QvError, bug_summary
from qv_config.gate.adapter import Outcome
from qv_config.gate.rendered import Rendered


@dataclass(frozen=True)
class GateDecision:
    approved: bool
    approvals: tuple[str, ...]  # approver principals that counted (recorded in _meta and audit)
    reason: str
    # Approvals are missing and may still come (the writer waits); False with ``approved``
    # False: the gate could not read what governs the change (a person must fix something).
    waiting: bool = False
    missing: tuple[str, ...] = ()  # the unmet rules, each with what it still needs
    ignored: tuple[str, ...] = ()  # approvals that did not count, each with why


def check(
    repo: Path,
    env: str,
    base_rev: str | None,
    base_digest: str | None,
    target_rev: str,
    target_digest: str,
    rendered: Rendered | None = None,
) -> GateDecision:
    """May ``target_rev`` (rendering to ``target_digest``) replace ``base_rev`` in ``env``?
    ``rendered``: both states, when the caller rendered them already (``gate.rendered``)."""
    from qv_config.gate import adapter

    try:
        outcome = adapter.evaluate(
            repo,
            env,
            base_rev,
            target_rev,
            base_digest=base_digest,
            target_digest=target_digest,
            rendered=rendered,
        )
    except QvError as err:
        return _refused(f"its approvals cannot be checked: {err}")
    except Exception as bug:  # whatever the repository holds, the gate stays shut
        return _refused(f"its approvals cannot be checked: internal error {bug_summary(bug)}")
    return _decide(env, base_rev, target_rev, outcome)


def _refused(reason: str) -> GateDecision:
    return GateDecision(False, (), reason + " (the gate fails closed)")


def _decide(env: str, base_rev: str | None, target_rev: str, outcome: Outcome) -> GateDecision:
    governing = f"the deployed {base_rev[:12]}" if base_rev else f"{target_rev[:12]} (first deploy)"
    if not outcome.required:
        reason = f"the policy of {governing} asks no approvals of this change to {env}"
        return GateDecision(True, (), reason, ignored=outcome.ignored)
    if outcome.met:
        reason = f"approved under the policy of {governing} by {', '.join(outcome.approvers)}"
        return GateDecision(True, outcome.approvers, reason, ignored=outcome.ignored)
    missing = tuple(outcome.missing) or ("(the policy is not met)",)
    reason = (
        f"waiting for approvals of {target_rev[:12]} for {env} under the policy of {governing};"
        f" missing: {'; '.join(missing)}"
    )
    if base_rev is None:  # no approval can ever help: say what to run (the agent logs it too)
        reason += (
            f"; nothing is deployed in {env} yet, so no approval can name a base: deploy it once"
            f" with `qv sync --env {env} --break-glass --reason 'first deploy of {env}'`"
        )
    return GateDecision(False, outcome.approvers, reason, True, missing, outcome.ignored)

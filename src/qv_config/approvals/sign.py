"""``qv approve``: sign the statement of a change and store it under ``refs/qv/approvals/``.

Checked before signing, so that nobody signs an approval that cannot count: the policy exists at
base, the identity is its principal, the key is listed for that identity in the base's
``allowed_signers`` and not revoked, and (with separation of duties) the approver wrote none of
the change. ``evaluate`` checks all of it again: this is courtesy, not the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.errors import CheckFailed, UsageError

if TYPE_CHECKING:
    from qv_config.approvals.change import Change
    from qv_config.approvals.policy import PolicyState
    from qv_config.diff.states import Workspace


@dataclass(frozen=True, slots=True)
class Signed:
    env: str
    ref: str
    approver: str
    fingerprint: str
    target_digest: str
    base_digest: str


def approve(
    ws: Workspace, env: str, base: str, target: str, key: Path, identity: str | None
) -> Signed:
    from qv_config.approvals import refs, sshkeygen
    from qv_config.approvals.change import compute
    from qv_config.approvals.signers import fingerprint
    from qv_config.approvals.statement import Statement, blob, now

    change = compute(ws, env, base, target)
    policy = _policy(change)
    public = sshkeygen.public_key(key)
    print_ = fingerprint(public)
    who = _identity(policy, print_, identity)
    _check(change, policy, who, print_)
    statement = Statement(
        env,
        change.base_digest,
        change.target_digest,
        change.changes_digest,
        policy.digest,
        who,
        now(),
    )
    signature = sshkeygen.sign(key, statement.encode())
    ref = refs.ref_name(env, change.target_digest, public)
    refs.write(ws.root, ref, blob(statement, signature))
    return Signed(env, ref, who, print_, change.target_digest, change.base_digest)


def _policy(change: Change) -> PolicyState:
    state = change.base_policy
    if not state.exists:
        raise CheckFailed(
            f"there is no policy/approvals.yaml at the base {change.base_rev[:12]}: "
            "nothing needs approving",
            hint="check --base; a policy governs only changes made after it is merged",
        )
    if state.model is None:
        raise CheckFailed(
            "the policy at base is invalid: no approval can count under it",
            hint="run `qv validate` at the base revision",
        )
    if change.empty:
        raise CheckFailed(
            f"{change.env} renders the same at base and target and policy/ is unchanged: "
            "nothing to approve",
            hint="check --rev and --base",
        )
    return state


def _identity(policy: PolicyState, print_: str, given: str | None) -> str:
    """``--as``, else the one principal of the policy whose allowed-signers line has this key."""
    assert policy.model is not None
    known = {p.identity.lower(): p.identity for p in policy.model.spec.principals}
    if given:
        if given.lower() not in known:
            raise UsageError(
                f"{given} is not a principal of the base's policy/approvals.yaml",
                hint=f"principals: {', '.join(sorted(known.values()))}",
            )
        return known[given.lower()]
    names = {
        known[n.lower()]
        for e in policy.signers.entries
        if e.fingerprint == print_
        for n in e.principals
        if n.lower() in known
    }
    if len(names) != 1:
        raise UsageError(
            f"key {print_} is listed for {len(names)} principal(s) of the base's policy",
            hint="pass --as IDENTITY (your e-mail in policy/allowed_signers)",
        )
    return names.pop()


def _check(change: Change, policy: PolicyState, who: str, print_: str) -> None:
    from qv_config.approvals.policy import REVOKED, SIGNERS

    if print_ in policy.revoked.fingerprints:
        raise CheckFailed(
            f"key {print_} is revoked in the base's {REVOKED}", hint="sign with your current key"
        )
    listed = any(e.fingerprint == print_ and who in e.principals for e in policy.signers.entries)
    if not listed:
        raise CheckFailed(
            f"key {print_} is not listed for {who} in the base's {SIGNERS}: the approval would"
            " not count",
            hint="sign with the key of that line, or add yours in a change approved first",
        )
    assert policy.model is not None
    if policy.model.spec.separation_of_duties:
        from qv_config.approvals.evaluate import roles

        role = roles(change, policy.model).get(who.lower())
        if role:
            raise CheckFailed(
                f"{who} is {role}: separation of duties, the approval would not count",
                hint="ask another approver",
            )

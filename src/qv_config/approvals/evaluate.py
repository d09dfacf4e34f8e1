"""``evaluate``: is a change of one environment approved as the base's policy asks?

What it decides (docs/approvals.md):

- The policy is the base revision's. No ``policy/approvals.yaml`` at base: nothing is required
  (a repository adopts approvals by merging its first policy). A policy at base that does not
  validate (QV701-QV703) or a ``revoked_keys`` with a malformed line (QV711): fail closed, every
  environment's change is unmet until it is fixed (by a change approved under... nothing:
  ``--break-glass`` or the repository's owners).
- No change (same rendered state, no policy edit) or no rule matching it: met.
- Each matching rule needs ``count`` distinct principals (``from_groups`` when given) whose
  approval verified; with ``separation_of_duties`` authors, committers and promoters of the
  change's commits never count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.approvals.model import (
    Approval,
    PolicyStatus,
    Refusal,
    ReviewSource,
    RuleResult,
    Verdict,
)

if TYPE_CHECKING:
    from qv_config.approvals.change import Change
    from qv_config.approvals.policy import PolicyState
    from qv_config.diff.states import Workspace
    from qv_config.models.approval_policy import ApprovalPolicy, Rule

_FAIL_CLOSED = ("QV701", "QV702", "QV703", "QV711")

ABSENT = "no policy/approvals.yaml at base: none needed"
UNCHANGED = "nothing changed: none needed"


def evaluate(
    root: Path,
    env: str,
    base_rev: str,
    target_rev: str,
    *,
    sources: Sequence[ReviewSource] = (),
    workspace: Workspace | None = None,
) -> Verdict:
    """The verdict on ``env``'s change from ``base_rev`` to ``target_rev`` (revisions).

    Signed approvals are read from ``refs/qv/approvals/`` of ``root``; ``sources`` add forge
    reviews (counted when the base's policy lists their name in ``sources``; a listed one not
    given, or that fails, is a note of the verdict). ``workspace``:
    a ``diff.states.Workspace`` of ``root`` to share renders between environments.
    """
    from qv_config.approvals.change import compute
    from qv_config.diff.states import Workspace

    ws = workspace or Workspace(root)
    try:
        return decide(ws, compute(ws, env, base_rev, target_rev), sources)
    finally:
        if workspace is None:
            ws.close()


def by_policy(state: PolicyState) -> tuple[PolicyStatus, bool, str] | None:
    """The verdict (status, met, reason) that the base's policy gives whatever the change: none
    at base, or one that is invalid; None when the change decides."""
    if not state.exists:
        return "absent", True, ABSENT
    broken = [f for f in state.findings if f.is_error and f.code in _FAIL_CLOSED]
    if broken or state.model is None:
        first = broken[0] if broken else None
        where = f" ({first.file}:{first.line}: {first.code})" if first else ""
        return "invalid", False, f"the policy at base is invalid{where}: nothing can be approved"
    return None


def decide(ws: Workspace, change: Change, sources: Sequence[ReviewSource]) -> Verdict:
    alone = by_policy(change.base_policy)
    if alone is not None:
        return _verdict(change, *alone)
    policy = change.base_policy.model
    assert policy is not None  # (by_policy)
    if change.empty:
        return _verdict(change, "valid", True, UNCHANGED)
    matched = [(rule, why) for rule in policy.spec.rules if (why := because(rule, change))]
    if not matched:
        return _verdict(change, "valid", True, "no rule of the policy covers this change")
    found, notes = _collect(ws, change, policy, sources)
    found = _separate(found, change, policy)
    approvals = tuple(f for f in found if isinstance(f, Approval))
    refused = tuple(f for f in found if isinstance(f, Refusal))
    results = tuple(_result(rule, why, approvals, policy) for rule, why in matched)
    met = all(r.met for r in results)
    reason = "approved" if met else "; ".join(r.need() for r in results if not r.met)
    return _verdict(change, "valid", met, reason, results, approvals, refused, notes)


def _verdict(
    change: Change,
    status: PolicyStatus,
    met: bool,
    reason: str,
    rules: tuple[RuleResult, ...] = (),
    approvals: tuple[Approval, ...] = (),
    refused: tuple[Refusal, ...] = (),
    notes: tuple[str, ...] = (),
) -> Verdict:
    return Verdict(
        change.env,
        change.base_rev,
        change.target_rev,
        change.base_digest,
        change.target_digest,
        change.changes_digest,
        change.base_policy.digest,
        status,
        met,
        reason,
        rules,
        approvals,
        refused,
        notes=notes,
    )


def because(rule: Rule, change: Change) -> tuple[str, ...]:
    """The change types of ``change`` that ``rule`` matches (empty: it does not apply)."""
    if not any(fnmatchcase(change.env, pattern) for pattern in rule.environments):
        return ()
    found = set(_doc_types(rule, change))
    unfiltered = rule.kinds is None and rule.selectors is None
    if change.policy_edited and (
        "policy" in rule.changes or ("any" in rule.changes and unfiltered)
    ):
        found.add("policy")
    return tuple(t for t in ("policy", "loosen", "tighten", "add", "remove", "any") if t in found)


def _doc_types(rule: Rule, change: Change) -> set[str]:
    from qv_config.render.selectors import parse_selector

    selectors = [parse_selector(text) for text in rule.selectors or ()]
    found: set[str] = set()
    for doc in change.docs:
        if rule.kinds is not None and doc.kind not in rule.kinds:
            continue
        if selectors and not any(s.matches(doc.kind, doc.name) for s in selectors):
            continue
        kinds = {"any"}
        kinds |= {"add"} if doc.op == "added" else {"remove"} if doc.op == "removed" else set()
        kinds |= {"loosen"} if doc.loosened else set()
        kinds |= {"tighten"} if doc.tightened else set()
        found |= kinds & set(rule.changes)
    return found


def _collect(
    ws: Workspace, change: Change, policy: ApprovalPolicy, sources: Sequence[ReviewSource]
) -> tuple[list[Approval | Refusal], tuple[str, ...]]:
    """What every source the base's policy lists says, and a note for each listed forge that
    could not be consulted (never an error: the signed approvals still stand alone)."""
    from qv_config.approvals import verify
    from qv_config.errors import QvError

    found: list[Approval | Refusal] = []
    notes: list[str] = []
    if "signed" in policy.spec.sources:
        found += verify.signed(ws.root, change, policy)
    given = {source.name: source for source in sources}
    for name in (n for n in policy.spec.sources if n != "signed"):
        source = given.get(name)
        if source is None:
            notes.append(f"{name} reviews not consulted: no {name} source was given")
            continue
        try:
            found += verify.reviewed(source, change, policy, _digest_at(ws, change.env))
        except QvError as err:  # no token, no pull request, the forge down: say so
            notes.append(f"{name} reviews not consulted: {err}")  # with its hint: what to do
    return found, tuple(notes)


def _digest_at(ws: Workspace, env: str) -> Callable[[str], str | None]:
    """The approval digest of ``env`` at a reviewed commit; a ``QvError`` (a commit not here,
    a state that does not render) makes the review not count, its message saying why."""
    from qv_config.approvals.change import state_digest

    return lambda sha: state_digest(ws, env, sha)


def _separate(
    found: list[Approval | Refusal], change: Change, policy: ApprovalPolicy
) -> list[Approval | Refusal]:
    """Separation of duties: an author, committer or promoter of the change never counts."""
    if not policy.spec.separation_of_duties:
        return found
    who_is = roles(change, policy)
    out: list[Approval | Refusal] = []
    for item in found:
        role = who_is.get(item.principal.lower()) if isinstance(item, Approval) else None
        if isinstance(item, Approval) and role:
            out.append(
                Refusal(
                    item.source,
                    item.where,
                    item.principal,
                    f"{item.principal} is {role}: separation of duties",
                )
            )
        else:
            out.append(item)
    return out


def roles(change: Change, policy: ApprovalPolicy) -> dict[str, str]:
    """Lower-cased principal identity -> their role in the change (promoter first)."""
    by_mail = {p.identity.lower(): p.identity.lower() for p in policy.spec.principals}
    for p in policy.spec.principals:
        if p.github:
            by_mail[f"{p.github.lower()}@users.noreply.github.com"] = p.identity.lower()
    found: dict[str, str] = {}
    for commit in reversed(change.commits):  # oldest first; the promoter's role wins
        for mail, role in ((commit.committer, "a committer"), (commit.author, "an author")):
            who = by_mail.get(_noreply(mail))
            if who and found.get(who) != "the promoter":
                found[who] = (
                    "the promoter"
                    if commit.promoted and role == "an author"
                    else (f"{role} of commit {commit.sha[:12]} in the change")
                )
    return found


def _noreply(mail: str) -> str:
    """GitHub's ``12345+login@users.noreply.github.com`` as ``login@users.noreply.github.com``
    (any other address as it is: ``a+tag@example.com`` is not ``tag@example.com``)."""
    local, _, domain = mail.partition("@")
    if domain != "users.noreply.github.com":
        return mail
    return f"{local.partition('+')[2] or local}@{domain}"


def _result(
    rule: Rule, why: tuple[str, ...], approvals: Sequence[Approval], policy: ApprovalPolicy
) -> RuleResult:
    groups = {p.identity.lower(): set(p.groups) for p in policy.spec.principals}
    wanted = set(rule.from_groups or ())
    counted = sorted(
        {
            a.principal
            for a in approvals
            if not wanted or groups.get(a.principal.lower(), set()) & wanted
        }
    )
    return RuleResult(
        rule.name,
        rule.description or "",
        rule.count,
        tuple(rule.from_groups or ()),
        why,
        tuple(counted),
    )

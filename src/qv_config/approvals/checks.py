"""The cross-reference checks of an approval policy (QV703-QV705), located in its file.

A typo in a policy must never pass quietly: a rule naming an environment that does not exist
would govern nothing, a group nobody is in would make a rule unmeetable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from qv_config.approvals.policy import POLICY, warning
from qv_config.findings import Finding

if TYPE_CHECKING:
    from qv_config.approvals.signers import Signers
    from qv_config.models.approval_policy import ApprovalPolicy, Rule
    from qv_config.yamlio import LoadedDoc

FieldPath = tuple[str | int, ...]


def reference_findings(
    policy: ApprovalPolicy, doc: LoadedDoc, signers: Signers, envs: Sequence[str] | None
) -> list[Finding]:
    def at(path: FieldPath) -> tuple[int, int]:
        mark = doc.position(path)
        return (mark.line, mark.col) if mark is not None else (1, 1)

    found: list[Finding] = []
    for code, path, message in _problems(policy, signers, envs):
        line, col = at(path)
        field = _dotted(path)
        if code in ("QV704", "QV705"):
            found.append(warning(code, message, line, col, field))
        else:
            found.append(Finding(code, message, POLICY, line, col, field=field))
    return found


def _dotted(path: FieldPath) -> str:
    from qv_config.findings import dotted

    return dotted(path)


def _problems(
    policy: ApprovalPolicy, signers: Signers, envs: Sequence[str] | None
) -> Iterator[tuple[str, FieldPath, str]]:
    yield from _principal_problems(policy, signers)
    groups = {g for p in policy.spec.principals for g in p.groups}
    names: set[str] = set()
    for index, rule in enumerate(policy.spec.rules):
        at: FieldPath = ("spec", "rules", index)
        if rule.name in names:
            yield "QV703", (*at, "name"), f"rule name {rule.name!r} is used twice"
        names.add(rule.name)
        yield from _rule_problems(policy, rule, at, groups, envs)


def _principal_problems(
    policy: ApprovalPolicy, signers: Signers
) -> Iterator[tuple[str, FieldPath, str]]:
    identities: set[str] = set()
    logins: set[str] = set()
    for index, principal in enumerate(policy.spec.principals):
        at: FieldPath = ("spec", "principals", index)
        if principal.identity.lower() in identities:
            yield "QV703", (*at, "identity"), f"principal {principal.identity} is listed twice"
        identities.add(principal.identity.lower())
        login = (principal.github or "").lower()
        if login and login in logins:
            yield (
                "QV703",
                (*at, "github"),
                f"github login {principal.github} maps to two principals",
            )
        logins.add(login)
        if not signers.has_principal(principal.identity) and not principal.github:
            yield (
                "QV705",
                (*at, "identity"),
                f"{principal.identity} has no key in policy/allowed_signers and no github login:"
                " nothing they approve can count",
            )


def _rule_problems(
    policy: ApprovalPolicy,
    rule: Rule,
    at: FieldPath,
    groups: set[str],
    envs: Sequence[str] | None,
) -> Iterator[tuple[str, FieldPath, str]]:
    for index, group in enumerate(rule.from_groups or []):
        if group not in groups:
            yield "QV703", (*at, "from_groups", index), f"no principal is in group {group!r}"
    for index, pattern in enumerate(rule.environments):
        if envs is not None and not any(fnmatchcase(env, pattern) for env in envs):
            known = ", ".join(envs)
            yield (
                "QV703",
                (*at, "environments", index),
                (f"{pattern!r} matches no environment of qv.yaml ({known})"),
            )
    yield from _kind_problems(rule, at)
    eligible = [
        p
        for p in policy.spec.principals
        if not rule.from_groups or set(p.groups) & set(rule.from_groups)
    ]
    if len(eligible) < rule.count:
        yield (
            "QV704",
            (*at, "count"),
            (
                f"rule {rule.name} needs {rule.count} approvers but only {len(eligible)}"
                " principal(s) can approve it: it can never be met"
            ),
        )


def _kind_problems(rule: Rule, at: FieldPath) -> Iterator[tuple[str, FieldPath, str]]:
    from qv_config.errors import UsageError
    from qv_config.models.kinds import KINDS
    from qv_config.render.selectors import parse_selector

    for index, kind in enumerate(rule.kinds or []):
        if kind not in KINDS:
            yield (
                "QV703",
                (*at, "kinds", index),
                (f"unknown kind {kind!r} (one of {', '.join(KINDS)})"),
            )
    for index, text in enumerate(rule.selectors or []):
        try:
            parse_selector(text)
        except UsageError as err:
            yield "QV703", (*at, "selectors", index), err.message

"""The use cases behind ``qv approvals``, ``qv approve`` and ``qv review``'s approvals section:
several environments of one change, their renders shared in one ``Workspace``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.approvals.model import ReviewSource, Verdict
from qv_config.approvals.sign import Signed
from qv_config.errors import UsageError

if TYPE_CHECKING:
    from qv_config.diff.states import Workspace


def verdicts(
    root: Path,
    envs: Sequence[str],
    base: str | None,
    rev: str,
    *,
    store: str | None = None,
    sources: Sequence[ReviewSource] = (),
) -> list[Verdict]:
    """One verdict per environment (every one of qv.yaml at ``rev`` when ``envs`` is empty);
    ``base`` None: each environment's default base (``approvals.base``)."""
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        return _decided(ws, envs or all_envs(ws, rev), base, rev, store, sources)
    finally:
        ws.close()


def _decided(
    ws: Workspace,
    envs: Sequence[str],
    base: str | None,
    rev: str,
    store: str | None,
    sources: Sequence[ReviewSource],
) -> list[Verdict]:
    """Each of ``envs``' verdict, its change rendered (``verdicts``)."""
    from qv_config.approvals.base import choose
    from qv_config.approvals.change import compute
    from qv_config.approvals.evaluate import decide

    out = []
    for env in envs:
        chosen = choose(ws.root, env, base, store)
        verdict = decide(ws, compute(ws, env, chosen.rev, rev), sources)
        out.append(replace(verdict, base_source=chosen.why))
    return out


def sign_all(
    root: Path,
    envs: Sequence[str],
    base: str | None,
    rev: str,
    key: Path,
    identity: str | None,
    store: str | None = None,
) -> list[Signed]:
    """Sign and store one approval per environment (``qv approve``)."""
    from qv_config.approvals.base import choose
    from qv_config.approvals.sign import approve
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        return [
            approve(ws, env, choose(root, env, base, store).rev, rev, key, identity) for env in envs
        ]
    finally:
        ws.close()


def all_envs(ws: Workspace, rev: str) -> list[str]:
    project = ws.project(ws.resolve(rev))
    if project is None:
        raise UsageError(f"qv.yaml at {rev} is missing or invalid", hint="run `qv validate`")
    return list(project.spec.environments)


@dataclass(frozen=True)
class Needed:
    """``qv review``'s short section: the approvals each environment still needs at HEAD."""

    text: str
    markdown: str
    data: dict[str, object]


def approvals_needed(
    root: Path, base: str, rev: str = "HEAD", sources: Sequence[ReviewSource] = ()
) -> Needed:
    """What the base's policy still asks of the change base..``rev``; a change that cannot be
    evaluated (no Git, an invalid state) says so instead of failing the review."""
    from qv_config.approvals import reporters
    from qv_config.errors import QvError
    from qv_config.safetext import bounded

    try:
        found = _for_review(root, base, rev, sources)
    except QvError as err:
        line = f"approvals: not evaluated ({bounded(err.message)})"
        return Needed(line, f"\n{line}\n", {"evaluated": False, "reason": err.message})
    lines = [f"\napprovals of {rev} (base {base[:12]}):"]
    lines += [f"  {v.env}: {'met' if v.met else 'missing: ' + '; '.join(v.missing)}" for v in found]
    lines += [f"  note: {bounded(note)}" for note in sorted({n for v in found for n in v.notes})]
    data: dict[str, object] = {
        v.env: {"met": v.met, "missing": list(v.missing), "notes": list(v.notes)} for v in found
    }
    return Needed("\n".join(lines), "\n" + reporters.markdown(found), data)


def _for_review(root: Path, base: str, rev: str, sources: Sequence[ReviewSource]) -> list[Verdict]:
    """``verdicts`` of every environment, in one workspace: those that need no render from
    ``_unrendered``, the others rendered."""
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        envs = all_envs(ws, rev)
        quick = _unrendered(ws, envs, base, rev)
        rest = [env for env in envs if env not in quick]
        found = {v.env: v for v in _decided(ws, rest, base, rev, None, sources)}
        return [quick.get(env) or found[env] for env in envs]
    finally:
        ws.close()


def _unrendered(ws: Workspace, envs: Sequence[str], base: str, rev: str) -> dict[str, Verdict]:
    """The verdicts of ``envs`` that need no render: every one when the base's policy decides
    alone (none, or invalid), and, under a policy the change leaves as it is, those of
    environments whose input key is the same on both sides (nothing they render from
    changed). ``evaluate.decide`` gives the same verdicts but for the digests, which review
    never shows; rendering three environments of 10,000 documents took ~2 s of a review."""
    from qv_config.approvals.evaluate import UNCHANGED, by_policy
    from qv_config.approvals.policy import read_policy

    base_sha, target_sha = ws.resolve(base), ws.resolve(rev)
    if base_sha is None or target_sha is None:
        return {}  # rendering says what is wrong
    policy = read_policy(ws.read_at(base_sha))
    alone = by_policy(policy)
    if alone is None and read_policy(ws.read_at(target_sha)).digest != policy.digest:
        return {}  # a policy edit is every environment's change
    decided = alone or ("valid", True, UNCHANGED)
    same = envs if alone else [e for e in envs if _untouched(ws, e, base_sha, target_sha)]
    return {
        env: Verdict(env, base_sha, target_sha, "", "", "", policy.digest, *decided) for env in same
    }


def _untouched(ws: Workspace, env: str, base: str, target: str) -> bool:
    """Whether ``env`` renders from the very same files at both commits."""
    from qv_config.approvals.states import input_key

    old = input_key(ws, env, base)
    return old is not None and old == input_key(ws, env, target)

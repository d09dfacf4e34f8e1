"""What a change is, for approvals: one environment from a base revision to a target revision.

Digests are desired-state digests (``store.layout.digest_of`` over the canonical JSON of each
rendered document) of the state as committed: SOPS ciphertext is kept, not decrypted, so CI and
approvers need no key; with no encrypted file in the environment it is the digest ``_meta``
records. ``changes_digest`` binds the exact set of changed keys (with both sides' value hashes)
and any edit of ``policy/``. Change types come from the diff's risk marks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.repo import gitcmd

if TYPE_CHECKING:
    from qv_config.approvals.policy import PolicyState
    from qv_config.diff.model import DocChange, Op
    from qv_config.diff.states import Workspace

_RS, _US = "\x1e", "\x1f"
Docs = Mapping[str, Mapping[str, Any]]  # ``kind-slug/name`` -> rendered document


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    author: str  # e-mail, lower-cased
    committer: str
    promoted: bool  # carries a Promoted-From: trailer: its author is the promoter


@dataclass(frozen=True)
class Change:
    env: str
    base_rev: str  # full shas
    target_rev: str
    base_digest: str
    target_digest: str
    changes_digest: str
    docs: tuple[DocChange, ...]
    policy_edited: bool
    commits: tuple[Commit, ...]
    base_policy: PolicyState

    @property
    def empty(self) -> bool:
        return not self.docs and not self.policy_edited


def compute(ws: Workspace, env: str, base_rev: str, target_rev: str) -> Change:
    """The change of ``env`` from ``base_rev`` to ``target_rev`` (names or shas)."""
    from qv_config.approvals.states import sides

    base, target = ws.resolve(base_rev), ws.resolve(target_rev)
    assert base is not None
    assert target is not None
    both = sides(ws, env, base, target)
    # Outside the render set the target holds the base's very documents, so comparing whole
    # states' hashes finds the documents of the parts that differ; they are picked from the
    # whole states all the same (a superset: nothing that differs can be missing).
    hashes = (_hashes(env, both.base), _hashes(env, both.target))

    def docs(refs: Sequence[str]) -> tuple[Docs, Docs]:
        return _pick(both.base, refs), _pick(both.target, refs)

    return between(ws, env, (base, target), hashes, docs)


def between(
    ws: Workspace,
    env: str,
    revs: tuple[str, str],
    hashes: tuple[Mapping[str, str], Mapping[str, str]],
    docs: Callable[[Sequence[str]], tuple[Docs, Docs]],
) -> Change:
    """The change of ``env`` between two rendered states (base and target shas in ``revs``),
    given as their hashes — sha256 of each document's canonical JSON by ``env/kind-slug/name``,
    as ``DesiredState.hashes`` holds them for a state rendered without decrypting. ``docs(refs)``
    gives both sides' documents of the refs that differ (absent on a side: left out); only
    those are diffed. This is the one place a ``Change`` is assembled, so that what approvals
    bind (digests, changes digest) is computed one way whoever rendered the states."""
    from qv_config.approvals.policy import read_policy

    base, target = revs
    old_h, new_h = hashes
    differing = sorted(k for k in old_h.keys() | new_h.keys() if old_h.get(k) != new_h.get(k))
    base_policy = read_policy(ws.read_at(base))
    target_policy = read_policy(ws.read_at(target))
    refs = [key.split("/", 1)[1] for key in differing]
    return Change(
        env,
        base,
        target,
        _digest(old_h),
        _digest(new_h),
        _changes_digest(differing, old_h, new_h, base_policy, target_policy),
        _doc_changes(refs, *docs(refs), ws.read_at(target), _risky(base_policy, env)),
        base_policy.digest != target_policy.digest,
        commits(ws.root, base, target),
        base_policy,
    )


def _pick(refs_docs: Docs, refs: Sequence[str]) -> Docs:
    return {ref: refs_docs[ref] for ref in refs if ref in refs_docs}


def state_digest(ws: Workspace, env: str, rev: str) -> str:
    """The approval digest of ``env`` at ``rev`` (what a statement's target_digest names)."""
    from qv_config.approvals.states import whole

    sha = ws.resolve(rev)
    assert sha is not None
    return _digest(_hashes(env, whole(ws, env, sha)))


def approval_digest(root: Path, env: str, rev: str) -> str:
    """``state_digest`` for callers without a Workspace (promote's trailer, the forge)."""
    from qv_config.diff.states import Workspace

    ws = Workspace(root)
    try:
        return state_digest(ws, env, rev)
    finally:
        ws.close()


def _hashes(env: str, refs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    from qv_config.render.canonical import canonical_json

    sha = hashlib.sha256
    return {f"{env}/{ref}": sha(canonical_json(data)).hexdigest() for ref, data in refs.items()}


def _digest(hashes: Mapping[str, str]) -> str:
    from qv_config.store.layout import digest_of

    return digest_of(hashes)


def _changes_digest(
    keys: Sequence[str],
    old: Mapping[str, str],
    new: Mapping[str, str],
    base_policy: PolicyState,
    target_policy: PolicyState,
) -> str:
    """sha256 over ``key<TAB>old<TAB>new<LF>`` of each changed key (``-``: absent), then
    ``policy<TAB>base policy digest<TAB>target policy digest<LF>`` when policy/ changed."""
    lines = [f"{key}\t{old.get(key, '-')}\t{new.get(key, '-')}\n" for key in keys]
    if base_policy.digest != target_policy.digest:
        lines.append(f"policy\t{base_policy.digest}\t{target_policy.digest}\n")
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _risky(policy: PolicyState, env: str) -> bool:
    """Whether a rule of the base's policy for ``env`` asks for loosened or tightened limits:
    only then are the documents diffed field by field (risk marks). Other change types need
    only which documents differ, were added or removed (a 1,000-document change: ~0.1 s less).
    An invalid policy asks nothing of the diff: it approves nothing."""
    from fnmatch import fnmatchcase

    rules = policy.model.spec.rules if policy.model is not None else []
    return any(
        {"loosen", "tighten"} & set(rule.changes)
        for rule in rules
        if any(fnmatchcase(env, pattern) for pattern in rule.environments)
    )


def _doc_changes(
    refs: Sequence[str],
    left: Docs,
    right: Docs,
    read: Callable[[str], bytes | None],
    risky: bool = True,
) -> tuple[DocChange, ...]:
    from qv_config.diff.compute import diff_documents
    from qv_config.diff.sides import mark_lookup

    if not risky:
        return tuple(
            _changed(ref, right.get(ref) or left[ref], _op(ref, left, right)) for ref in refs
        )
    changes = diff_documents(left, right, marks=mark_lookup(read)).changes
    # A document whose canonical JSON differs is a change even where the diff shows no field
    # (fail closed: the rule types "any" still sees it).
    shown = {change.ref for change in changes}
    unseen = [_changed(ref, right.get(ref) or left[ref]) for ref in refs if ref not in shown]
    return (*changes, *unseen)


def _op(ref: str, left: Docs, right: Docs) -> Op:
    return "added" if ref not in left else "removed" if ref not in right else "changed"


def _changed(ref: str, data: Mapping[str, Any], op: Op = "changed") -> DocChange:
    from qv_config.diff.model import DocChange

    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return DocChange(ref, str(data.get("kind", "")), str(name or ref.partition("/")[2]), op)


def commits(root: Path, base: str, target: str) -> tuple[Commit, ...]:
    """The commits in ``base..target``: authors, committers and promoters of the change."""
    fmt = f"%H{_US}%ae{_US}%ce{_US}%(trailers:key=Promoted-From,valueonly,separator=%x20){_RS}"
    out = gitcmd.text(
        root,
        "log",
        f"--format={fmt}",
        f"{base}..{target}",
        "--",
        what="git could not list the commits of the change",
    )
    found = []
    for record in out.split(_RS):
        parts = record.strip("\n").split(_US)
        if len(parts) == 4:
            sha, author, committer, promoted = parts
            found.append(Commit(sha, author.lower(), committer.lower(), bool(promoted.strip())))
    return tuple(found)

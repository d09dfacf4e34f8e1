"""The diff use cases behind ``qv diff`` and ``qv review``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qv_config.diff.compute import diff_documents
from qv_config.diff.model import EnvDiff
from qv_config.diff.sides import Side, env_specific, mark_lookup
from qv_config.diff.states import State, Workspace, invalid_side
from qv_config.progress import NO_PROGRESS, Progress

_SHA = re.compile(r"[0-9a-f]{40}")


def short(rev: str) -> str:
    """A full sha shortened for labels; names (main, HEAD~1) stay as the user wrote them."""
    return rev[:10] if _SHA.fullmatch(rev) else rev


def diff_sides(
    root: Path,
    left: Side,
    right: Side,
    *,
    all_fields: bool = False,
    use_cache: bool = True,
    decrypt: bool = False,
    key_file: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> EnvDiff:
    """The effective difference from ``left`` to ``right`` (each ENV or ENV@REV).

    ``decrypt``: changed secrets carry their plaintexts (key from ``key_file``, else
    ``SOPS_AGE_KEY_FILE``); a file no key opens raises ``OperationalError`` naming its recipients.
    """
    ws = Workspace(root, use_cache=use_cache, decrypt=decrypt, key_file=key_file, progress=progress)
    try:
        return _diff_sides(ws, left, right, all_fields)
    finally:
        ws.close()


def _diff_sides(ws: Workspace, left: Side, right: Side, all_fields: bool) -> EnvDiff:
    old_sha, new_sha = ws.resolve(left.rev), ws.resolve(right.rev)
    labels = (_label(left), _label(right))
    if left.env == right.env:
        old, new = ws.pair(left.env, old_sha, new_sha, labels)
    else:
        old = ws.full(left.env, old_sha, labels[0])
        new = ws.full(right.env, new_sha, labels[1])
    old, new = old.checked(), new.checked()
    # Between two environments, env_specific fields differ by design (SPEC §5).
    ignore = env_specific(ws.project(new_sha)) if left.env != right.env and not all_fields else []
    return diff_documents(
        _as_env(old.refs, left.env, right.env),
        new.refs,
        marks=mark_lookup(new.read),
        ignore=ignore,
        secret=ws.secrets(old, new),
        left_label=labels[0],
        right_label=labels[1],
    )


def _label(side: Side) -> str:
    return f"{side.env}@{short(side.rev)}" if side.rev else side.env


def _as_env(refs: Mapping[str, Any], env: str, other: str) -> Mapping[str, Any]:
    """Between two environments, their Environment documents are the same document."""
    key, target = f"environment/{env}", f"environment/{other}"
    if env == other or key not in refs:
        return refs
    return {target if k == key else k: v for k, v in refs.items()}


def review(
    root: Path,
    base: str,
    head: str | None = None,
    *,
    use_cache: bool = True,
    decrypt: bool = False,
    key_file: Path | None = None,
) -> dict[str, EnvDiff]:
    """Every environment's effective change between ``base`` and ``head`` (None: work tree),
    including environments whose files were not touched but whose templates or bases were.
    ``decrypt`` and ``key_file`` as for ``diff_sides``."""
    ws = Workspace(root, use_cache=use_cache, decrypt=decrypt, key_file=key_file)
    try:
        return _review(ws, base, head)
    finally:
        ws.close()


def _review(ws: Workspace, base: str, head: str | None) -> dict[str, EnvDiff]:
    base_sha, head_sha = ws.resolve(base), ws.resolve(head)
    head_label = short(head) if head else "work tree"
    head_project, base_project = ws.project(head_sha), ws.project(base_sha)
    # A side whose qv.yaml does not validate is refused as `qv diff` refuses it (exit 1), never
    # read as "no environments" (which would list every document of the other side as added).
    sides = ((base_project, base_sha, short(base)), (head_project, head_sha, head_label))
    for project, sha, label in sides:
        if project is None:
            raise invalid_side(label, ws.project_problem(sha))
    assert head_project is not None
    assert base_project is not None
    envs = list(head_project.spec.environments)
    base_envs = set(base_project.spec.environments)
    out: dict[str, EnvDiff] = {}
    for env in envs:
        labels = (f"{env}@{short(base)}", f"{env}@{head_label}" if head else env)
        if env in base_envs:
            old, new = ws.pair(env, base_sha, head_sha, labels)
        else:  # a new environment: everything in it is added
            new = ws.full(env, head_sha, labels[1])
            old = State(env, labels[0], {}, new.read)
        out[env] = _one(ws, old.checked(), new.checked())
    return out


def _one(ws: Workspace, old: State, new: State) -> EnvDiff:
    return diff_documents(
        old.refs,
        new.refs,
        marks=mark_lookup(new.read),
        left_label=old.label,
        right_label=new.label,
        secret=ws.secrets(old, new),
    )

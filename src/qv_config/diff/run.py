"""The diff use cases behind ``qv diff`` and ``qv review``."""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from qv_config.diff.compute import diff_documents
from qv_config.diff.envspecific import NOTHING
from qv_config.diff.model import EnvDiff
from qv_config.diff.sides import Side, mark_lookup
from qv_config.diff.states import Refs, State, Workspace
from qv_config.errors import CheckFailed

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
    selectors: Sequence[str] = (),
) -> EnvDiff:
    """The effective difference from ``left`` to ``right`` (each ENV or ENV@REV), of the
    documents ``selectors`` (``kind/name`` globs) match, or all.

    ``decrypt``: changed secrets carry their plaintexts (key from ``key_file``, else
    ``SOPS_AGE_KEY_FILE``); a file no key opens raises ``OperationalError`` naming its recipients.
    """
    ws = Workspace(root, use_cache=use_cache, decrypt=decrypt, key_file=key_file)
    try:
        with no_gc():
            return _diff_sides(ws, left, right, all_fields, selectors)
    finally:
        ws.close()


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: two rendered environments are millions of
    small acyclic objects, and each collection would walk them all again (~0.2 s a diff)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _diff_sides(
    ws: Workspace, left: Side, right: Side, all_fields: bool, selectors: Sequence[str]
) -> EnvDiff:
    old_sha, new_sha = ws.resolve(left.rev), ws.resolve(right.rev)
    labels = (_label(left), _label(right))
    if left.env == right.env:
        old, new = ws.pair(left.env, old_sha, new_sha, labels)
    else:
        wanted = [(left.env, old_sha, labels[0]), (right.env, new_sha, labels[1])]
        old, new = ws.fulls(wanted)
    old, new = old.checked(), new.checked()
    # Between two environments, env_specific fields differ by design (SPEC §5).
    settings = ws.settings(new_sha) if left.env != right.env and not all_fields else None
    ignore = settings.env_specific if settings else NOTHING
    old_refs, new_refs = _as_env(old.refs, left.env, right.env), new.refs
    if selectors:
        old_refs, new_refs = select_refs(selectors, old_refs, new_refs, env=right.env)
    return diff_documents(
        old_refs,
        new_refs,
        marks=mark_lookup(new.read, ws.cache_root),
        ignore=ignore,
        secret=ws.secrets(old, new),
        left_label=labels[0],
        right_label=labels[1],
    )


def select_refs(texts: Sequence[str], *sides: Refs, env: str) -> tuple[Refs, ...]:
    """Each side's documents that ``texts`` (``kind/name`` globs) select; a selector that
    selects nothing on any side is a usage error (exit 2) naming close documents."""
    from qv_config.render.selectors import check_all_match, parse_selectors, selected

    chosen = parse_selectors(texts)
    exact = {_exact(sel.kind, sel.name) for sel in chosen}
    if None not in exact:  # no glob: looked up, not matched against every document
        picked = [{r: d for r, d in refs.items() if r.lower() in exact} for refs in sides]
        found = {r.lower() for refs in picked for r in refs}
        if found >= exact:
            return tuple(picked)
    present = {_kind_name(ref) for refs in sides for ref in refs}
    check_all_match(chosen, sorted(present), env)  # raises naming the selector
    return tuple(
        {ref: doc for ref, doc in refs.items() if selected(chosen, *_kind_name(ref))}
        for refs in sides
    )


def _exact(kind: str, name: str) -> str | None:
    """``kind-slug/name`` (lower case) a selector without globs names; None for a glob."""
    from qv_config.render.types import KIND_SLUGS

    if any(c in kind + name for c in "*?[]"):
        return None
    slugs = {k.lower(): v for k, v in KIND_SLUGS.items()}
    return f"{slugs.get(kind, kind)}/{name}"


def _kind_name(ref: str) -> tuple[str, str]:
    """``risk-policy/x`` -> ("RiskPolicy", "x"): selectors match kind names and slugs."""
    from qv_config.render.types import KIND_SLUGS

    slug, _, name = ref.partition("/")
    kinds = {v: k for k, v in KIND_SLUGS.items()}
    return kinds.get(slug, slug), name


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
    head_project, base_project = ws.settings(head_sha), ws.settings(base_sha)
    if head_project is None:
        raise CheckFailed(
            f"qv.yaml of {head_label if head else 'the work tree'} is missing or invalid",
            hint="run `qv validate` to see why",
        )
    envs = list(head_project.environments)
    base_envs = set(base_project.environments) if base_project else set()
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
        marks=mark_lookup(new.read, ws.cache_root),
        left_label=old.label,
        right_label=new.label,
        secret=ws.secrets(old, new),
    )

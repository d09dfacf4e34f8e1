"""Rendering one side of a diff and checking it: a partial snapshot's documents (their own
stages), a whole environment (every stage), in this process or in a forked worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qv_config.errors import UsageError
from qv_config.findings import Finding

if TYPE_CHECKING:
    from qv_config.diff.states import CachedState, Read, Refs
    from qv_config.render.types import RenderedEnv
    from qv_config.repo.types import Snapshot


def render_checked(snap: Snapshot, env: str, files: set[str]) -> tuple[Refs, Read, str]:
    """Render the documents of a partial snapshot and check each one's own stages (the
    cross-document rules need the whole environment: ``qv validate`` runs them)."""
    from qv_config.render.engine import render_environment
    from qv_config.validate.api import check_rendered

    check_env(snap, env)
    rendered = render_environment(snap, env)
    found = [f for f in snap.findings if f.file in files]
    found += rendered.findings
    found += check_rendered([rendered], snap.read, documents_only=True, encrypted=snap.encrypted)
    return _refs(rendered), snap.read, _problem(found)


def render_sent(snaps: Mapping[str | None, Snapshot], item: tuple[str, str | None]) -> bytes | None:
    """In a forked worker: ``render_full`` as marshal bytes (None: not plain data)."""
    import marshal

    env, sha = item
    state = render_full(snaps[sha], env)
    try:
        return marshal.dumps((state.problem, dict(state.refs)))
    except ValueError:
        return None


def render_full(snap: Snapshot, env: str) -> CachedState:
    """Render a whole environment and check it: through the validation memo when it holds
    this environment's findings for exactly these files (a ``qv validate`` of them), else
    every stage here (~40 % of the time of a cold diff of two environments)."""
    from qv_config.diff.states import CachedState
    from qv_config.render.engine import render_environment
    from qv_config.validate.api import check_rendered, remembered_findings

    check_env(snap, env)
    rendered = render_environment(snap, env)
    found = [f for f in snap.findings if _concerns(f, env)]
    known = remembered_findings(snap, env)
    if known is not None:
        found += known
    else:
        found += check_rendered([rendered], snap.read, encrypted=snap.encrypted)
    return CachedState(_refs(rendered), _problem(found))


def _concerns(finding: Finding, env: str) -> bool:
    """Load findings of other environments' folders do not make this environment invalid."""
    if not finding.file.startswith("environments/"):
        return True
    return finding.file.startswith(f"environments/{env}/") or finding.env in (None, env)


def check_env(snap: Snapshot, env: str) -> None:
    if env not in snap.env_names:
        names = ", ".join(snap.env_names) or "none"
        raise UsageError(
            f"unknown environment {env!r} in {snap.label}", hint=f"environments of qv.yaml: {names}"
        )


def _refs(rendered: RenderedEnv) -> dict[str, Mapping[str, Any]]:
    return {key.split("/", 1)[1]: doc.data for key, doc in rendered.docs.items()}


def _problem(found: list[Finding]) -> str:
    errors = sorted((f for f in found if f.is_error), key=Finding.sort_key)
    if not errors:
        return ""
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first.file}:{first.line}:{first.col}: {first.code} {first.message}{more}"

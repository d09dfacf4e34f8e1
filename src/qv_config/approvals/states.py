"""The rendered states a change is between, rendered as little as a correct digest allows.

An approval binds desired-state digests, so both sides are needed whole (every key's hash). The
base is rendered whole (the environment's own folder only, kept under ``.qv/cache/approvals``
by input key); the target is the base with the documents that can differ rendered again — the
render set ``qv diff`` uses (``diff.tree.render_set`` and the templates' dependents), a superset
of what changed. A change to ``qv.yaml`` or the environment file renders the target whole.
Nothing here validates: an approval of an invalid state is harmless, it cannot be deployed
(``qv sync`` and the agent validate), and validation is ``qv validate``'s work in CI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qv_config.approvals.rendering import Pair, Refs

if TYPE_CHECKING:
    from qv_config.diff.states import Workspace
    from qv_config.repo.types import Snapshot

Pair2 = tuple[Pair, Pair]  # the base's and the target's
_KEEP = 16  # rendered bases kept per project (~2 MB each at 4,000 documents); the oldest go


@dataclass(frozen=True)
class Sides:
    """Both states of one environment, whole."""

    base: Refs
    target: Refs


def sides(ws: Workspace, env: str, base: str, target: str) -> Sides:
    if not _present(ws, env, target):
        return Sides(whole(ws, env, base), {})
    keep = ws.render_paths(env, base, target) if _present(ws, env, base) else None
    if keep is None:
        return Sides(whole(ws, env, base), whole(ws, env, target))
    kept = _memo(ws, env, target)
    if kept is not None:  # the target as an earlier run computed it (the same documents)
        return Sides(whole(ws, env, base), kept[0])
    # The documents whose main file is in the render set are rendered again; the rest are the
    # base's own (their files did not change).
    (old, sources), (rendered, rendered_sources) = _base_and_partial(ws, env, base, target, keep)
    new = {ref: doc for ref, doc in old.items() if sources.get(ref) not in keep}
    new_sources = {ref: src for ref, src in sources.items() if src not in keep}
    for ref, doc in rendered.items():
        if rendered_sources.get(ref) in keep:
            new[ref], new_sources[ref] = doc, rendered_sources[ref]
    _remember(ws, env, target, new, new_sources)
    return Sides(old, new)


def _present(ws: Workspace, env: str, sha: str) -> bool:
    project = ws.project(sha)
    return project is not None and env in project.spec.environments


def whole(ws: Workspace, env: str, sha: str) -> Refs:
    """Every document of ``env`` at ``sha`` ({} when the environment is not there yet)."""
    return _whole(ws, env, sha)[0]


def _whole(ws: Workspace, env: str, sha: str) -> Pair:
    """``whole``, and each document's main file (``kind-slug/name`` -> repo path)."""
    if not _present(ws, env, sha):
        return {}, {}
    kept = _memo(ws, env, sha)
    if kept is not None:
        return kept
    from qv_config.approvals.rendering import rendered
    from qv_config.repo import load_snapshot

    found = rendered(load_snapshot(ws.source(sha), envs=[env]), env, sha)
    _remember(ws, env, sha, *found)
    return found


def _base_and_partial(ws: Workspace, env: str, base: str, target: str, keep: set[str]) -> Pair2:
    """The base whole and the target's documents of ``keep``: rendered together, in two
    workers, when the base is not kept already."""
    from qv_config.approvals import rendering
    from qv_config.repo import load_snapshot

    kept = _memo(ws, env, base)
    if kept is not None:
        return kept, partial(ws, env, target, keep)
    old = load_snapshot(ws.source(base), envs=[env])
    new = _partial_snapshot(ws, env, target, keep)
    both = rendering.rendered_pair(old, new, env)
    if both is None:  # few documents, or a problem the serial renders below name
        both = rendering.rendered(old, env, base), rendering.rendered(new, env, target)
    _remember(ws, env, base, *both[0])
    return both


def input_key(ws: Workspace, env: str, sha: str) -> str | None:
    """The environment's input key at ``sha`` (in a checkout or the agent's bare mirror)."""
    from qv_config.store.desiredcache import input_key

    found = input_key(ws.root, env, sha)
    return found.key if found is not None else None


def _memo(ws: Workspace, env: str, sha: str) -> Pair | None:
    """The state of ``env`` at ``sha`` kept by its input key under ``.qv/cache/approvals``."""
    from qv_config.cache.pack import StateMemo

    key = input_key(ws, env, sha)
    kept = StateMemo(ws.root, "approvals", keep=_KEEP).get(env, key) if key else None
    return (kept[0], kept[1]) if kept is not None else None


def _remember(ws: Workspace, env: str, sha: str, refs: Refs, sources: Mapping[str, str]) -> None:
    from qv_config.cache.pack import StateMemo

    key = input_key(ws, env, sha)
    if key:
        StateMemo(ws.root, "approvals", keep=_KEEP).put(env, key, (dict(refs), dict(sources)))


def partial(ws: Workspace, env: str, sha: str, keep: set[str]) -> Pair:
    """The documents of ``keep`` (main paths) at ``sha``, loaded as a whole load is (blobs read
    at once, parsed values from the parse cache) but only those files and their context (whose
    documents, the Environment's, are rendered too: the caller keeps those of ``keep``)."""
    from qv_config.approvals.rendering import rendered

    return rendered(_partial_snapshot(ws, env, sha, keep), env, sha)


def _partial_snapshot(ws: Workspace, env: str, sha: str, keep: set[str]) -> Snapshot:
    from qv_config.diff.tree import context_paths
    from qv_config.repo import load_snapshot

    source = ws.source(sha)
    files = source.list_paths([*context_paths(env), *sorted(keep)])
    return load_snapshot(source, envs=[env], only=list(files))

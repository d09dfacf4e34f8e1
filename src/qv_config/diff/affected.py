"""Which documents of an environment can differ between two states (``Workspace.pair`` renders
only those): the documents whose own files changed (``diff.tree.render_set``), those that use a
changed template (found by a textual search of both sides, extends followed), or None — render
whole — when qv.yaml, the environment file or a symbolic link is involved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qv_config.diff.tree import render_set
from qv_config.repo import history

if TYPE_CHECKING:
    from qv_config.diff.states import Workspace


def render_paths(ws: Workspace, env: str, old: str | None, new: str | None) -> set[str] | None:
    """The main files of the documents of ``env`` that can differ between ``old`` and ``new``
    (a superset of what changed: templates' dependents included); None when any document may
    differ (``qv.yaml``, the environment file, a link), so render whole."""
    changed = ws.changed(old, new)
    bases = ws.bases(new)
    if ws.git and any(_has_links(ws, sha, env, bases, changed) for sha in {old, new}):
        return None  # a link reads a file whose change is not the link's: render all
    keep = render_set(changed, env, bases)
    if keep is not None or not ws.git:
        return keep
    templates = {p for p in changed if p.startswith("templates/")}
    others = render_set(changed - templates, env, bases)
    if others is None:  # qv.yaml or the environment file: every document may differ
        return None
    names = _dependents(ws, old, new, [_template_name(p) for p in templates])
    found = set()
    for sha in (old, new):
        found |= history.grep_files(ws.root, sha, names, [f"environments/{env}", *bases])
    keep = render_set(found, env, bases)
    return None if keep is None else keep | others


def _has_links(
    ws: Workspace, sha: str | None, env: str, bases: list[str], changed: set[str]
) -> bool:
    # By revision *and* environment: ``qv review`` asks of every environment in turn, and one
    # without links must not answer for another's (a link's change would go unseen).
    paths = history.input_paths(env, bases)
    # Over its own bases, a revision's input key names these trees: one key, one answer.
    key = ws.keys.get((env, sha)) if sha and ws.bases(sha) == bases else None
    where = key or sha
    if (where, paths) not in ws.links:
        ws.links[where, paths] = history.has_links(ws.root, sha, paths, changed)
    return ws.links[where, paths]


def _dependents(ws: Workspace, old: str | None, new: str | None, names: list[str]) -> list[str]:
    """``names`` and every template that extends one of them, on either side. A textual search
    finds a superset (a name in a comment): extra documents render to no change."""
    known = set(names)
    while True:
        found: set[str] = set()
        for sha in (old, new):
            found |= history.grep_files(ws.root, sha, sorted(known), ["templates"])
        more = {_template_name(p) for p in found} - known
        if not more:
            return sorted(known)
        known |= more


def _template_name(path: str) -> str:
    return path[len("templates/") : path.rfind(".")]

"""``qv log``: the commits that changed an environment's effective configuration.

Walks first-parent history from a revision. A commit is rendered only when the *input key* of
the environment (tree ids of everything that can affect it, see ``repo.history``) differs from
its parent's, and rendered results are memoised by input key, so template and base edits are
found without rendering commits that could not have changed anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.diff.compute import diff_documents
from qv_config.diff.model import EnvDiff
from qv_config.diff.sides import Snapshots, mark_lookup, rendered_refs
from qv_config.errors import CheckFailed
from qv_config.repo.history import CommitInfo, first_parent_log, input_keys, input_paths

Refs = dict[str, Mapping[str, Any]]


@dataclass(frozen=True)
class LogEntry:
    commit: CommitInfo
    diff: EnvDiff | None  # None when the commit (or its parent) did not render
    problem: str = ""


@dataclass
class _Renderer:
    snapshots: Snapshots
    env: str
    memo: dict[str, Refs | CheckFailed]

    def refs(self, sha: str, key: str) -> Refs | CheckFailed:
        if key not in self.memo:
            try:
                snap = self.snapshots.get(sha)
                self.memo[key] = (
                    rendered_refs(snap, self.env, f"{self.env}@{sha[:10]}")
                    if self.env in snap.environments
                    else {}
                )
            except CheckFailed as invalid:
                self.memo[key] = invalid
        return self.memo[key]


def env_log(
    root: Path,
    env: str,
    *,
    rev: str = "HEAD",
    limit: int = 20,
    keep: Callable[[str], bool] = lambda ref: True,
) -> list[LogEntry]:
    snapshots = Snapshots(root)
    bases = _bases(snapshots, rev)
    commits = first_parent_log(root, rev)
    parents = [c.parents[0] for c in commits if c.parents]
    keys = input_keys(root, [c.sha for c in commits] + parents, input_paths(env, bases))
    renderer = _Renderer(snapshots, env, {})
    entries: list[LogEntry] = []
    for commit in commits:
        if len(entries) >= limit:
            break
        entry = _entry(commit, keys, renderer, keep)
        if entry is not None:
            entries.append(entry)
    return entries


def _bases(snapshots: Snapshots, rev: str) -> list[str]:
    project = snapshots.get(rev).project
    return list(project.spec.bases) if project else ["strategies"]


def _entry(
    commit: CommitInfo,
    keys: dict[str, str],
    renderer: _Renderer,
    keep: Callable[[str], bool],
) -> LogEntry | None:
    parent = commit.parents[0] if commit.parents else None
    key = keys[commit.sha]
    if parent is not None and keys.get(parent) == key:
        return None
    new = renderer.refs(commit.sha, key)
    old: Refs | CheckFailed = renderer.refs(parent, keys[parent]) if parent else {}
    if isinstance(new, CheckFailed):
        return LogEntry(commit, None, new.message)
    if isinstance(old, CheckFailed):
        return LogEntry(commit, None, old.message)
    snapshot = renderer.snapshots.get(commit.sha)
    diff = diff_documents(
        {r: d for r, d in old.items() if keep(r)},
        {r: d for r, d in new.items() if keep(r)},
        marks=mark_lookup(snapshot),
        left_label=parent[:10] if parent else "(empty)",
        right_label=commit.sha[:10],
    )
    return None if diff.empty else LogEntry(commit, diff)

"""``qv log``: the commits that changed an environment's effective configuration.

Walks first-parent history from a revision. A commit is looked at only when the *input key* of
the environment (tree ids of everything that can affect it, see ``repo.history``) differs from
its parent's; then only the documents whose own files changed are rendered on both sides, unless
qv.yaml, a template or the environment file changed (whole environments, cached on disk by input
key). So template and base edits are found, and nothing is rendered twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from qv_config.diff.compute import diff_documents
from qv_config.diff.model import EnvDiff
from qv_config.diff.sides import mark_lookup
from qv_config.diff.states import State, Workspace
from qv_config.errors import CheckFailed, UsageError
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.repo.history import CommitInfo, env_keys, first_parent_log


@dataclass(frozen=True)
class LogEntry:
    commit: CommitInfo
    diff: EnvDiff | None  # None when the commit (or its parent) does not validate
    problem: str = ""


def env_log(
    root: Path,
    env: str,
    *,
    rev: str = "HEAD",
    limit: int = 20,
    keep: Callable[[str], bool] = lambda ref: True,
    use_cache: bool = True,
    decrypt: bool = False,
    key_file: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> list[LogEntry]:
    """Newest first, at most ``limit`` commits that changed ``env`` (documents chosen by
    ``keep(kind-slug/name)``); ``decrypt`` and ``key_file`` as for ``run.diff_sides``.
    ``progress`` hears of each commit whose changes were worked out."""
    ws = Workspace(root, use_cache=use_cache, decrypt=decrypt, key_file=key_file)
    try:
        return _walk(ws, env, rev, (limit, keep), progress)
    finally:
        ws.close()


def _walk(
    ws: Workspace,
    env: str,
    rev: str,
    wanted: tuple[int, Callable[[str], bool]],
    progress: Progress,
) -> list[LogEntry]:
    limit, keep = wanted
    tip = ws.resolve(rev)
    assert tip is not None
    _check_env(ws, env, tip)
    commits = first_parent_log(ws.root, tip)
    shas = [c.sha for c in commits] + [c.parents[0] for c in commits if c.parents]
    chain = env_keys(ws.root, shas, env, ws.bases(tip))
    keys = chain.keys
    # Only a revision's own key may stand for it in the rendered-state cache.
    ws.keys.update({(env, sha): keys[sha] for sha in chain.own})
    changed = [c for c in commits if not c.parents or keys.get(c.parents[0]) != keys[c.sha]]
    entries: list[LogEntry] = []
    progress.start(f"reading {env}'s history", min(limit, len(changed)))
    try:
        for commit in changed:
            if len(entries) >= limit:
                break
            entry = _entry(ws, env, commit, commit.parents[0] if commit.parents else None, keep)
            if entry is not None:
                entries.append(entry)
                progress.advance(1)
    finally:
        progress.stop()
    return entries


def _check_env(ws: Workspace, env: str, tip: str) -> None:
    project = ws.project(tip)
    if project is None:  # say why (a refused link, a bad field), not "no environments"
        raise CheckFailed(
            f"qv.yaml at {tip[:10]} cannot be read: {ws.project_problem(tip)}",
            hint="fix qv.yaml (qv validate says where), or start from another revision",
        )
    names = list(project.spec.environments)
    if env not in names:
        raise UsageError(
            f"unknown environment {env!r} at {tip[:10]}",
            hint=f"environments of qv.yaml: {', '.join(names) or 'none'}",
        )


def _entry(
    ws: Workspace, env: str, commit: CommitInfo, parent: str | None, keep: Callable[[str], bool]
) -> LogEntry | None:
    old, new = _states(ws, env, parent, commit.sha)
    problem = new.problem or old.problem
    if problem:
        side = new if new.problem else old
        return LogEntry(commit, None, f"{side.label} does not validate: {problem}")
    diff = diff_documents(
        {r: d for r, d in old.refs.items() if keep(r)},
        {r: d for r, d in new.refs.items() if keep(r)},
        marks=mark_lookup(new.read, ws.cache_root),
        left_label=old.label,
        right_label=new.label,
        secret=ws.secrets(old, new),
    )
    return None if diff.empty else LogEntry(commit, diff)


def _states(ws: Workspace, env: str, parent: str | None, sha: str) -> tuple[State, State]:
    labels = (parent[:10] if parent else "(empty)", sha[:10])
    has_old, has_new = _declares(ws, parent, env), _declares(ws, sha, env)
    if has_old and has_new:
        assert parent is not None
        return ws.pair(env, parent, sha, labels)
    # The environment appears (or disappears) here: everything in it is added (or removed).
    new = ws.full(env, sha, labels[1]) if has_new else State(env, labels[1], {}, ws.read_at(sha))
    old = ws.full(env, parent, labels[0]) if has_old else State(env, labels[0], {}, new.read)
    return old, new


def _declares(ws: Workspace, sha: str | None, env: str) -> bool:
    if sha is None:
        return False
    project = ws.project(sha)
    return project is not None and env in project.spec.environments

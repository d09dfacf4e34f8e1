"""``qv validate`` of the work tree: a run costs what changed since the last one.

1. The listing is compared with the last run's (``cache.tree``).
2. No file ``qv validate`` loads changed, same options and day: the kept result (its schema
   files checked again by digest).
3. Only documents of environments changed, each environment asked for is fresh (its memo made
   from exactly the last listing), nothing encrypted: only the changed files, qv.yaml, the
   templates and the Environment documents are loaded, and each environment with changes is
   updated by difference (``incremental.delta_plan``).
4. Otherwise the whole tree is loaded and validated (``validate.api``), rendering only what
   changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.progress import NO_PROGRESS, Progress
from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.cache.results import Documents, FindingRow, Results
    from qv_config.cache.tree import Changes, Tree
    from qv_config.repo.source import WorkTreeSource
    from qv_config.repo.types import Snapshot
    from qv_config.validate.api import Checked

_YAML = (".yaml", ".yml")
_ENV_FILES = ("environment.yaml", "environment.yml")
_KEEP = 8  # kept results (one per set of options) of one listing


@dataclass
class Summary:
    """What ``qv validate`` keeps of the tree it last checked (in ``cache.tree``)."""

    today: str
    problems: tuple[tuple[str, str, str], ...]  # paths the file rule refused (QV111, QV112)
    environments: tuple[str, ...]  # of qv.yaml
    structure: tuple[FindingRow, ...]  # the loader's QV204 findings
    files: int  # YAML files checked
    kept: dict[str, tuple[Any, dict[str, str]]] = field(default_factory=dict)  # results

    def row(self) -> tuple[Any, ...]:
        return tuple(self.__dict__.values())


@dataclass
class _Run:
    """One work-tree run: where it reads, what it knows of the last run, its options."""

    source: WorkTreeSource
    tree: Tree
    envs: Sequence[str] | None
    prefixes: tuple[str, ...]
    today: date

    @property
    def options(self) -> str:
        return repr((tuple(self.envs or ()), self.prefixes))


def validate_worktree(
    root: Path,
    envs: Sequence[str] | None = None,
    paths: Sequence[str] = (),
    *,
    use_cache: bool = True,
    progress: Progress = NO_PROGRESS,
    today: date | None = None,
) -> tuple[ValidationResult, Callable[[str], bytes | None]]:
    """``validate`` of the work tree at ``root`` (see the module docstring), and the reader of
    the tree's files (for reporters that quote lines)."""
    from qv_config.cache.tree import Tree
    from qv_config.repo.source import WorkTreeSource, content_hash
    from qv_config.validate.paths import normalise

    source = WorkTreeSource(root)
    tree = Tree(root if use_cache else None)
    run = _Run(source, tree, envs, normalise(paths), today or date.today())
    if tree.enabled and tree.project == content_hash(source.read("qv.yaml") or b""):
        source.walk(list(tree.bases))
        changes = tree.compare(source.listing(), source.index)
        summary = Summary(*tree.summary) if tree.summary else None
        answer = _kept(run, changes, summary) if summary else None
        answer = answer or (_fast(run, changes, summary) if summary else None)
        if answer is not None:
            return answer, source.read
    from qv_config.repo import load_snapshot
    from qv_config.validate.api import validate_checked

    snapshot = load_snapshot(source, use_cache=use_cache, tree=tree if tree.enabled else None)
    checked = validate_checked(snapshot, envs, paths, use_cache, progress, run.today)
    if tree.enabled:
        _save(run, snapshot, checked.rids, _summary(run, snapshot, checked))
    return checked.result, snapshot.read


def _relevant(path: str, bases: Sequence[str]) -> bool:
    """A file ``qv validate`` loads (schemas are checked by digest apart)."""
    if path == "qv.yaml" or path.startswith("policy/"):  # policy: QV7xx, checked every run
        return True
    tops = ("templates/", "environments/", *(f"{b}/" for b in bases))
    return path.endswith(_YAML) and path.startswith(tops)


def _kept(run: _Run, changes: Changes, summary: Summary) -> ValidationResult | None:
    """The result kept for these options when no file ``qv validate`` loads changed."""
    from qv_config.validate import schemafiles

    bases = run.tree.bases
    if any(_relevant(p, bases) for p in (*changes.restat, *changes.removed)):
        return None
    if summary.today != run.today.isoformat() or summary.problems != _problems(run.source):
        return None
    kept = summary.kept.get(run.options)
    if kept is None:
        return None
    # Most schema files are in the walked folders, but metadata.schema may name any file.
    if not schemafiles.unchanged(run.source.read, kept[1].items()):
        return None
    return _kept_result(kept[0])


def _fast(run: _Run, changes: Changes, summary: Summary) -> ValidationResult | None:
    """The shortcut of step 3 of the module docstring (None: it does not apply)."""
    from qv_config.cache.results import Results

    tree = run.tree
    if run.prefixes or summary.today != run.today.isoformat():
        return None
    if summary.problems != _problems(run.source):
        return None
    names = tuple(dict.fromkeys(run.envs or summary.environments))
    if any(env not in summary.environments or env not in tree.fresh for env in names):
        return None
    results = Results(run.source.root)
    memos = {env: results.memo(env) for env in names}
    if any(m.row is None or m.row.rid != tree.fresh[env] for env, m in memos.items()):
        return None
    snapshot = _partial(run, changes, summary, memos)
    changed = _changed(run, changes)
    if snapshot is None or changed is None or not all(_plain(p, summary) for p in changed):
        return None
    return _update(run, snapshot, summary, results, memos, changed)


def _partial(
    run: _Run, changes: Changes, summary: Summary, memos: Mapping[str, Any]
) -> Snapshot | None:
    """The snapshot of what the shortcut renders; None when it finds encrypted files."""
    from qv_config.repo import load_snapshot

    source, tree = run.source, run.tree
    only = {"qv.yaml", *source.under("templates")}
    only |= {f"environments/{e}/{n}" for e in summary.environments for n in _ENV_FILES}
    only |= tree.rereads()
    for path in changes.restat:
        if _relevant(path, tree.bases):
            only |= {path, *_partner(path, tree.bases, source)}
    for env, memo in memos.items():
        for main in memo.row.failed:
            only |= {main, f"environments/{env}/{main}"}
    snapshot = load_snapshot(source, tree=tree, only=only)
    if snapshot.encrypted or snapshot.project_doc is None:
        return None
    if snapshot.project_doc.digest != tree.project:
        return None
    return snapshot


def _partner(path: str, bases: Sequence[str], source: WorkTreeSource) -> list[str]:
    """The base document of an overlay (rendered with it)."""
    parts = path.split("/", 2)
    inner = parts[2] if len(parts) == 3 and parts[0] == "environments" else ""
    overlay = inner.startswith(tuple(f"{b}/" for b in bases))
    return [inner] if overlay and source.listed(inner) else []


def _changed(run: _Run, changes: Changes) -> list[str] | None:
    """The files qv validate loads whose bytes changed (read now), added or removed."""
    tree, bases = run.tree, run.tree.bases
    out = [p for p in changes.removed if _relevant(p, bases)]
    for path in changes.restat:
        if not _relevant(path, bases):
            continue
        before, now = tree.digest(path), tree.reads.get(path)
        if now is None:
            return None  # not read (gone meanwhile): let the whole run say what it is
        if not before or before != now[0]:
            out.append(path)
    return out


def _plain(path: str, summary: Summary) -> bool:
    """A document (or overlay) file of an environment of qv.yaml, not its environment.yaml."""
    parts = path.split("/", 2)
    return (
        len(parts) == 3
        and parts[0] == "environments"
        and parts[1] in summary.environments
        and parts[2] not in _ENV_FILES
    )


def _update(
    run: _Run,
    snapshot: Snapshot,
    summary: Summary,
    results: Results,
    memos: Mapping[str, Any],
    changed: list[str],
) -> ValidationResult | None:
    """Each environment updated by difference; None when one needs the whole tree."""
    from qv_config.cache.results import Damaged, Documents, from_row
    from qv_config.validate.api import assemble, policy_documents, run_state, same_digests
    from qv_config.validate.incremental import Incomplete, check_env, delta_plan

    state = run_state(snapshot, results, run.today)
    found = [f for f in snapshot.findings if f.code != "QV204"]
    found += [from_row(r) for r in summary.structure]
    documents: dict[str, Documents] = {}
    rids = {}
    for env, memo in memos.items():
        if not same_digests(state.schemas, memo.row.schema_reads):
            return None
        todo, gone = _mains(run, env, changed)
        try:
            if not todo and not gone:
                documents[env] = Documents(memo.names())
                state.cached += len(documents[env])
                found += memo.row.findings()
                rids[env] = memo.row.rid
                continue
            plan = delta_plan(snapshot, env, state, memo, todo, gone)
            outcome = check_env(snapshot, plan, state)
        except (Incomplete, Damaged):
            return None
        outcome.row.schema_reads = state.schemas.reads()
        results.put(env, outcome.row, outcome.documents, outcome.shards, memo)
        found += outcome.findings
        documents[env], rids[env] = outcome.documents, outcome.row.rid
    results.save(keep=snapshot.env_names)
    state.templates.save()
    added, removed = set(run.tree.changes.added), set(run.tree.changes.removed)
    files = summary.files + sum((p in added) - (p in removed) for p in changed)
    policy = policy_documents(run.source.listed, ())
    result = assemble(found, tuple(memos), (), documents, files, state, policy)
    summary.files = files
    # Results of other options still hold when no file qv validate loads changed.
    kept = dict(list(summary.kept.items())[-(_KEEP - 1) :]) if not changed else {}
    summary.kept = {**kept, run.options: (_kept_row(result), dict(state.schemas.reads()))}
    _save(run, snapshot, rids, summary)
    return result


def _mains(run: _Run, env: str, changed: list[str]) -> tuple[set[str], set[str]]:
    """Main paths of the documents of ``env`` to render again, and of those gone."""
    bases = tuple(f"{b}/" for b in run.tree.bases)
    removed = set(run.tree.changes.removed)
    todo, gone = set(), set()
    for path in changed:
        parts = path.split("/", 2)
        if parts[1] != env:
            continue
        if parts[2].startswith(bases) and run.source.listed(parts[2]):
            todo.add(parts[2])  # an overlay: its base renders again
        elif path in removed:
            gone.add(path)
        else:
            todo.add(path)
    return todo, gone


def _summary(run: _Run, snapshot: Snapshot, checked: Checked) -> Summary | None:
    from qv_config.cache.results import to_row
    from qv_config.validate.api import _yaml_files

    if snapshot.project_info is None:
        return None
    structure = tuple(to_row(f) for f in snapshot.findings if f.code == "QV204")
    files = len(_yaml_files(snapshot))
    summary = Summary(
        run.today.isoformat(),
        _problems(run.source),
        tuple(snapshot.project_info.environments),
        structure,
        files,
    )
    if not snapshot.encrypted:  # its checks depend on the keys at hand
        summary.kept[run.options] = (_kept_row(checked.result), checked.reads)
    return summary


def _save(run: _Run, snapshot: Snapshot, rids: dict[str, str], summary: Summary | None) -> None:
    from qv_config.repo.snapshot import yaml_settings

    settings = yaml_settings(snapshot.project_info)
    row = summary.row() if summary is not None else None
    run.tree.save(settings, checked=rids if summary is not None else {}, summary=row)


def _problems(source: WorkTreeSource) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted((path, r.code, r.reason) for path, r in source.problems.items()))


def _kept_row(result: ValidationResult) -> tuple[Any, ...]:
    from qv_config.cache.results import to_row

    rows = tuple(map(to_row, result.findings))
    counts = (result.errors, result.warnings, result.files, result.documents)
    return (rows, result.environments, *counts, result.stats.documents)


def _kept_result(row: tuple[Any, ...]) -> ValidationResult:
    from qv_config.cache.results import from_row

    rows, environments, errors, warnings, files, documents, checks = row
    stats = ValidationStats(checks, 0, checks)
    findings = tuple(map(from_row, rows))
    return ValidationResult(findings, errors, warnings, environments, files, documents, stats)


__all__ = ["validate_worktree"]

"""Validating one environment while rendering only the documents whose inputs changed.

Which documents to render: ``plan_env`` compares each document's pre-render key (main, overlay,
Environment document, qv.yaml, today: a tuple of digests) and template chain with its record;
``delta_plan`` is told which changed by ``validate.worktree``. ``check_env`` renders those (and
the Environment document, and documents without a record) and updates the memo by difference.
Cross-document findings are kept while every document's facts are. Safety nets: documents that
failed to render keep no record; a (kind, name) both rendered and kept renders the environment
whole (QV220 stays exact); a cross finding on a document not rendered renders it (file:line).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qv_config.cache.results import (
    NO_MEMO,
    SHARDS,
    CrossEntry,
    DocRecord,
    Documents,
    EnvMemo,
    EnvRow,
    from_row,
    new_rid,
    rows_of,
    shard_of,
    to_row,
)
from qv_config.findings import Finding
from qv_config.validate.engine import RunState, cross_issues, env_digest, to_finding
from qv_config.validate.rendered import EnvRun, context_of, decode_facts, render_and_check
from qv_config.validate.rendered import prekey as job_prekey
from qv_config.validate.types import CrossContext, DocFacts

if TYPE_CHECKING:
    from qv_config.render.jobs import Job
    from qv_config.render.types import RenderedDoc
    from qv_config.repo.types import Snapshot


class Incomplete(Exception):
    """The snapshot lacks documents the check needs (a partial snapshot: the caller loads the
    whole tree instead), or the memo is damaged."""


@dataclass(frozen=True)
class EnvPlan:
    """What checking one environment will render, decided before any rendering (the caller
    reports the work to do)."""

    env: str
    # Of the rendered Environment document (the templating context), and the environment's part
    # of every pre-render key ("": taken from the Environment document as it is rendered).
    digest: str
    context: str
    todo: frozenset[str]  # main paths of the documents to render
    gone: frozenset[str]  # main paths of the memo's documents that are no documents any more
    old: EnvMemo = NO_MEMO
    main: str = ""  # of the Environment document: rendered every run, as the context
    partial: bool = False  # the snapshot holds only what ``todo`` needs (``delta_plan``)

    @property
    def changed(self) -> frozenset[str]:
        """Main paths whose memo is replaced."""
        return self.todo | self.gone | {self.main}


@dataclass
class EnvOutcome:
    """One environment checked: its findings and documents, and its memo to keep."""

    findings: list[Finding]
    documents: Documents
    row: EnvRow
    shards: dict[int, dict[str, DocRecord]]
    values: dict[str, bytes]  # of the documents rendered (``RunState.value_of``)
    rendered: set[str]  # the main paths of those documents (none without ``value_of``)


def _context(snapshot: Snapshot, env: str, run: RunState) -> tuple[str, str]:
    from qv_config.render.engine import render_environment

    # The Environment alone: its digest is part of every document's pre-render key.
    digest = env_digest(render_environment(snapshot, env, paths=(), memo=run.templates))
    return digest, context_of(digest, run)


def plan_env(snapshot: Snapshot, env: str, run: RunState, old: EnvMemo = NO_MEMO) -> EnvPlan:
    """Which documents of ``env`` render as when ``old`` was made, and which must be rendered."""
    from qv_config.render.jobs import env_jobs

    files = snapshot.environments[env]
    digest, context = _context(snapshot, env, run)
    records = old.all_records()
    templates = {name: doc.digest for name, doc in snapshot.templates.items()}
    mains, todo = set(), set()
    for job in env_jobs(snapshot, files):
        main = job[0].path
        mains.add(main)
        record = records.get(main)
        if record is None or not _unchanged(job, record, templates, context, run):
            todo.add(main)
    known = set(old.documents().mains) | records.keys()
    if old.row is not None:
        known |= old.row.failed.keys()
    main = files.environment.path if files.environment else ""
    todo.discard(main)
    return EnvPlan(env, digest, context, frozenset(todo), frozenset(known - mains), old, main)


def delta_plan(
    snapshot: Snapshot, env: str, run: RunState, old: EnvMemo, changed: set[str], gone: set[str]
) -> EnvPlan:
    """The plan when exactly the documents of main paths ``changed`` (and ``gone``) differ from
    ``old``'s: those, the Environment document and the documents without a record render."""
    assert old.row is not None
    files = snapshot.environments[env]
    main = files.environment.path if files.environment else ""
    todo = (changed | old.row.failed.keys()) - gone - {main}
    return EnvPlan(env, "", "", frozenset(todo), frozenset(gone), old, main, partial=True)


def check_env(snapshot: Snapshot, plan: EnvPlan, run: RunState) -> EnvOutcome:
    """Render and check ``plan.todo`` (each document checked as it is rendered, none kept:
    memory) and update the memo by difference; a duplicate name between a rendered and a kept
    document renders the environment whole."""
    counts = run.validated, run.cached
    state, found = _render_and_check(snapshot, plan, run)
    if _collides(state, found):
        if plan.partial:
            raise Incomplete(plan.env)
        run.validated, run.cached = counts
        every = frozenset(_all_mains(snapshot, plan.env) - {plan.main})
        plan = EnvPlan(plan.env, plan.digest, plan.context, every, frozenset(), main=plan.main)
        state, found = _render_and_check(snapshot, plan, run)
    run.cached += len(state.kept) + state.cached
    return _outcome(snapshot, state, found, run)


def _render_and_check(
    snapshot: Snapshot, plan: EnvPlan, run: RunState
) -> tuple[EnvRun, tuple[Finding, ...]]:
    changed = plan.changed
    kept = plan.old.documents().without(changed)
    state = EnvRun(plan, plan.old.records(changed), plan.digest, plan.context, kept=kept)
    return state, render_and_check(snapshot, state, run)


def _all_mains(snapshot: Snapshot, env: str) -> set[str]:
    from qv_config.render.jobs import env_jobs

    return {job[0].path for job in env_jobs(snapshot, snapshot.environments[env])}


def _collides(state: EnvRun, found: tuple[Finding, ...]) -> bool:
    """A (kind, name) defined by a rendered (or failed) document and by a kept one."""
    if not state.kept:
        return False
    mine = {f"{kind}\0{name}" for kind, name, _ in state.documents.values()}
    mine |= {f"{f.kind}\0{f.name}" for f in found if f.kind and f.name}
    return not mine.isdisjoint(state.kept.names)


def _outcome(
    snapshot: Snapshot, state: EnvRun, found: tuple[Finding, ...], run: RunState
) -> EnvOutcome:
    old = state.plan.old.row if state.kept else None
    record_rows = Counter(old.record_rows if old else ())
    record_rows.subtract(rows_of(state.before.values()) if old else ())
    record_rows.update(rows_of(state.records.values()))
    cross = _cross(snapshot, state, run, old)
    row = EnvRow(
        new_rid(),
        today=run.today.isoformat(),
        render_rows=tuple(map(to_row, (*found, *state.unrecorded))),
        record_rows=tuple(record_rows.elements()),
        cross=cross,
        failed=_failed(state),
    )
    rendered_docs = state.documents.values()  # in two comprehensions, not a call each (20,000)
    documents = Documents(
        [*state.kept.names, *(f"{kind}\0{name}" for kind, name, _ in rendered_docs)],
        [*state.kept.mains, *(main for _, _, main in rendered_docs)],
    )
    findings = [from_row(r) for r in (*row.render_rows, *row.record_rows, *cross[0])]
    rendered = {main for _, _, main in state.documents.values()} if run.value_of else set()
    shards = _shards(state, old is not None)
    return EnvOutcome(findings, documents, row, shards, state.values, rendered)


def _failed(state: EnvRun) -> dict[str, tuple[str, str]]:
    """The rendered documents without a record, and the planned ones that did not render."""
    recorded = set(state.records)
    out = {}
    for key, (_, _, main) in state.documents.items():
        if main not in recorded:
            out[main] = (key, state.digests[key])
    for main in state.plan.todo - recorded - out.keys():  # planned, and did not render
        out[main] = ("", "")
    return out


def _shards(state: EnvRun, kept: bool) -> dict[int, dict[str, DocRecord]]:
    """The shards that change: without the records of the changed documents, with their new
    ones (all shards when nothing is kept)."""
    plan = state.plan
    shards: dict[int, dict[str, DocRecord]] = {}
    if kept:
        for main in plan.changed:
            number = shard_of(main)
            if number not in shards:
                shards[number] = dict(plan.old.shard(number))
            shards[number].pop(main, None)
    else:
        shards = {number: {} for number in range(SHARDS)}
    for main, record in state.records.items():
        shards.setdefault(shard_of(main), {})[main] = record
    return shards


def _unchanged(
    job: Job, record: DocRecord, templates: dict[str, str], context: str, run: RunState
) -> bool:
    """Whether the document of ``job`` would render and check as last time."""
    prekey, chain, schema_path, schema_digest = record[:4]
    if job_prekey(job, context) != prekey:
        return False
    for name, template in chain:  # unchanged templates linearise the same
        if templates.get(name) != template:
            return False
    return not schema_path or run.schemas.digest_of(schema_path) == schema_digest


def _cross(snapshot: Snapshot, state: EnvRun, run: RunState, old: EnvRow | None) -> CrossEntry:
    """Cross-document findings, kept while what they are computed from is unchanged: the facts
    of every document, today, and the input keys of the documents they point at (their
    file:line)."""
    if old is not None and old.today == run.today.isoformat() and _same_facts(state, old):
        before = {record[4]: record[7] for record in state.before.values()}
        targets = set(old.cross[1]) & state.input_keys.keys()
        if all(before.get(key) == state.input_keys[key] for key in targets):
            return old.cross
    facts = _all_facts(state)
    environment = facts.get(f"{state.plan.env}/environment/{state.plan.env}")
    issues = list(cross_issues(CrossContext(state.plan.env, facts, environment, run.today)))
    keys = {issue.key for issue in issues}
    rendered = _render_targets(snapshot, state, keys, run)
    found = [to_finding(rendered[i.key], i) for i in issues if i.key in rendered]
    return tuple(map(to_row, found)), tuple(sorted(keys))


def _same_facts(state: EnvRun, old: EnvRow) -> bool:
    """The changed documents' facts are what the memo's were (by key and digest)."""
    before = {record[4]: record[10] for record in state.before.values()}
    changed = state.plan.changed
    before |= {key: digest for main, (key, digest) in old.failed.items() if key and main in changed}
    return before == state.digests


def _all_facts(state: EnvRun) -> dict[str, DocFacts]:
    """The facts of every document: the kept ones' from the memo, the rendered ones'."""
    kept = set(state.kept.mains)
    records = state.plan.old.all_records() if kept else {}
    facts: dict[str, DocFacts | bytes] = {
        record[4]: record[9] for main, record in records.items() if main in kept
    }
    facts.update(state.facts)
    return {k: v if isinstance(v, DocFacts) else decode_facts(v) for k, v in sorted(facts.items())}


def _render_targets(
    snapshot: Snapshot, state: EnvRun, keys: set[str], run: RunState
) -> dict[str, RenderedDoc]:
    """Render again the documents a cross-document finding points at (for file:line); a
    partial snapshot without one of them is ``Incomplete``."""
    from qv_config.render.engine import render_environment
    from qv_config.render.types import KIND_SLUGS

    env = state.plan.env
    sources = {}
    for both, main in zip(state.kept.names, state.kept.mains, strict=True):
        kind, _, name = both.partition("\0")
        sources[f"{env}/{KIND_SLUGS.get(kind, kind.lower())}/{name}"] = main
    sources |= {key: main for key, (_, _, main) in state.documents.items()}
    wanted = {sources[key] for key in keys if key in sources}
    if not wanted:
        return {}
    if not wanted <= _loaded(snapshot, env):
        raise Incomplete(env)
    return dict(render_environment(snapshot, env, paths=wanted, memo=run.templates).docs)


def _loaded(snapshot: Snapshot, env: str) -> set[str]:
    """Main paths of the documents of ``env`` the snapshot holds."""
    files = snapshot.environments[env]
    loaded = {*snapshot.bases, *files.documents, *(doc.path for doc in files.overlays.values())}
    return loaded | ({files.environment.path} if files.environment else set())

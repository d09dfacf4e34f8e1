"""Validating one environment while rendering only the documents whose inputs changed.

A document's rendered value is a function of: its main file, its overlay, the templates of its
``extends`` chain, the Environment document (the templating context, itself rendered from its
layers), qv.yaml and the rendering code (bound into the cache's MACs). The previous run recorded,
per main file, a *pre-render key* (the digests of exactly those inputs, as a tuple: compared, not
hashed) and the template chain it used with each template's digest (``cache.results``). When the
same key comes out now, every template of the chain has its recorded digest (unchanged templates
linearise the same) and its service schema is unchanged, the document is not rendered: its
findings and cross-document facts come from the record. Cross-document findings are reused while
the facts of every document (and today) are; those pointing at a document that was not rendered
render it for its file:line.

Safety nets: documents that failed to render keep no record (they are rendered every run), and a
duplicate (kind, name) between a rendered and a reused document makes the run render everything.
"""

from __future__ import annotations

import hashlib
import marshal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qv_config.cache.results import (
    NO_CROSS,
    CrossEntry,
    DocRecord,
    EnvRecord,
    PreKey,
    from_row,
    to_row,
)
from qv_config.findings import Finding
from qv_config.validate.engine import (
    RunState,
    check_document,
    cross_issues,
    env_digest,
    input_key,
    to_finding,
)
from qv_config.validate.types import CrossContext, DocFacts

if TYPE_CHECKING:
    from qv_config.render.jobs import Job
    from qv_config.render.types import RenderedDoc
    from qv_config.repo.types import Snapshot

Documents = tuple[tuple[str, str, str], ...]  # (kind, name, source file)


@dataclass
class _EnvRun:
    """What one environment's run has gathered."""

    env: str
    context: str  # the environment's part of every pre-render key
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, DocFacts | bytes] = field(default_factory=dict)  # bytes: from a record
    digests: dict[str, str] = field(default_factory=dict)  # doc key -> facts digest
    input_keys: dict[str, str] = field(default_factory=dict)  # doc key -> input key
    sources: dict[str, str] = field(default_factory=dict)  # doc key -> main file
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # doc key -> (kind, name)
    records: dict[str, DocRecord] = field(default_factory=dict)  # by main path
    cross: CrossEntry = NO_CROSS


@dataclass(frozen=True)
class EnvPlan:
    """What checking one environment will reuse and render, decided before any rendering (the
    caller reports the work to do)."""

    env: str
    digest: str  # of the rendered Environment document (the templating context)
    context: str  # the environment's part of every pre-render key
    reused: dict[str, DocRecord]  # main path -> record of a document not rendered again
    todo: frozenset[str]  # main paths of the documents to render
    previous: dict[str, DocRecord]  # the previous run's records (by main path)
    cross: CrossEntry  # the previous run's cross findings


def plan_env(
    snapshot: Snapshot,
    env: str,
    run: RunState,
    previous: tuple[dict[str, DocRecord], CrossEntry] = ({}, NO_CROSS),
) -> EnvPlan:
    """Which documents of ``env`` render as when ``previous`` (records by main path, cross
    findings) was made, and which must be rendered."""
    from qv_config.render.engine import render_environment
    from qv_config.render.jobs import env_jobs

    files = snapshot.environments[env]
    digest = env_digest(
        render_environment(snapshot, env, paths=(), memo=run.templates)
    )  # the Environment alone
    context = f"{digest}\n{run.project_digest}\n{run.today.isoformat()}"
    old, cross = previous
    jobs = [job for job in env_jobs(snapshot, files) if job[0] is not files.environment]
    templates = {name: doc.digest for name, doc in snapshot.templates.items()}
    reused = {
        job[0].path: record
        for job in jobs
        if (record := old.get(job[0].path)) is not None
        and _unchanged(job, record, templates, context, run)
    }
    todo = frozenset(job[0].path for job in jobs) - reused.keys()
    return EnvPlan(env, digest, context, reused, todo, old, cross)


def check_env(
    snapshot: Snapshot, plan: EnvPlan, run: RunState, sources: bool = True
) -> tuple[list[Finding], Documents, EnvRecord]:
    """Every finding of the environment and its documents (with their main file when
    ``sources``), and the record to keep; renders only what ``plan`` says, checking each
    document as it is rendered (none is kept: memory)."""
    counts = run.validated, run.cached
    state, found = _render_and_check(snapshot, plan, run, plan.todo if plan.reused else None)
    reused = plan.reused
    if reused and _collides(state, found, reused):
        reused = {}
        run.validated, run.cached = counts
        state, found = _render_and_check(snapshot, plan, run, None)
    _reuse(state, reused, run)
    state.findings += found
    state.findings += _cross(snapshot, state, run, plan.cross)
    documents = tuple(
        (*state.names[key], state.sources[key] if sources else "") for key in state.names
    )
    return state.findings, documents, _record(state, documents, sources)


def _render_and_check(
    snapshot: Snapshot, plan: EnvPlan, run: RunState, paths: frozenset[str] | None
) -> tuple[_EnvRun, tuple[Finding, ...]]:
    from qv_config.render.engine import render_each

    state = _EnvRun(plan.env, plan.context)

    def check(key: str, doc: RenderedDoc) -> None:
        _check_rendered(state, key, doc, plan, run)

    return state, render_each(snapshot, plan.env, check, paths=paths, memo=run.templates)


def _record(state: _EnvRun, documents: Documents, sources: bool) -> EnvRecord:
    return EnvRecord(
        findings=tuple(map(to_row, state.findings)),
        documents=documents,
        has_sources=sources,
        heavy=(state.records, state.cross),
    )


def _prekey(job: Job, context: str) -> PreKey:
    """The inputs of a document's rendering besides its template chain, as a tuple: compared,
    not hashed (thousands per environment; the main path is the record's own key)."""
    main, role, overlay = job
    if overlay is None:
        return (context, role, main.digest, "-", "")
    return (context, role, main.digest, overlay.path, overlay.digest)


def _unchanged(
    job: Job, record: DocRecord, templates: dict[str, str], context: str, run: RunState
) -> bool:
    """Whether the document of ``job`` would render and check as last time."""
    prekey, chain, schema_path, schema_digest = record[:4]
    if _prekey(job, context) != prekey:
        return False
    for name, template in chain:  # unchanged templates linearise the same
        if templates.get(name) != template:
            return False
    return not schema_path or run.schemas.digest_of(schema_path) == schema_digest


def _collides(state: _EnvRun, found: tuple[Finding, ...], reused: dict[str, DocRecord]) -> bool:
    """A (kind, name) defined both by a rendered (or failed) document and by a reused one."""
    seen = {(record[5], record[6]) for record in reused.values()}
    if len(seen) != len(reused):
        return True
    mine = set(state.names.values()) | {(f.kind, f.name) for f in found if f.kind and f.name}
    return bool(seen & mine)


def _reuse(state: _EnvRun, reused: dict[str, DocRecord], run: RunState) -> None:
    """Take the results of the documents not rendered again (thousands: one loop)."""
    run.cached += len(reused)
    for path, record in reused.items():
        key, kind, name, in_key, rows, facts, facts_digest = record[4:]
        if rows:
            state.findings += [from_row(row) for row in rows]
        state.facts[key], state.digests[key] = facts, facts_digest
        state.input_keys[key] = in_key
        state.names[key] = (kind, name)
        state.sources[key] = path
    state.records.update(reused)


def _check_rendered(
    state: _EnvRun, key: str, doc: RenderedDoc, plan: EnvPlan, run: RunState
) -> None:
    """Check a document rendered this run; one whose input key is its record's (the
    Environment document, rendered every run as the context of the others) is not checked."""
    in_key = input_key(doc, plan.digest, run)
    old = plan.previous.get(doc.source)
    if old is not None and old[7] == in_key and old[4] == key:
        _reuse(state, {doc.source: old}, run)
        return
    found, facts = check_document(doc, run)
    state.findings += found
    state.facts[key] = facts
    state.input_keys[key] = in_key
    state.names[key] = (doc.kind, doc.name)
    state.sources[key] = doc.source
    encoded = encode_facts(facts)
    # Without a digest, facts count by the whole input key (and keep no record).
    state.digests[key] = encoded[1] if encoded else f"input:{in_key}"
    if encoded is not None:
        state.records[doc.source] = _doc_record(doc, state.context, in_key, found, encoded, run)


def _doc_record(
    doc: RenderedDoc,
    context: str,
    in_key: str,
    found: list[Finding],
    facts: tuple[bytes, str],
    run: RunState,
) -> DocRecord:
    chain = tuple((lay.label, lay.doc.digest) for lay in doc.layers if lay.role == "template")
    main = next(lay for lay in doc.layers if lay.role in ("base", "document"))
    overlay = next((lay.doc for lay in doc.layers if lay.role == "overlay"), None)
    schema_path = _schema_path(doc)
    schema_digest = run.schemas.digest_of(schema_path) if schema_path else ""
    prekey = _prekey((main.doc, main.role, overlay), context)
    rows = tuple(map(to_row, found))
    return (prekey, chain, schema_path, schema_digest, doc.key, doc.kind, doc.name, in_key,
            rows, *facts)  # fmt: skip


def _schema_path(doc: RenderedDoc) -> str:
    """The service schema a Config reads (explicit ``metadata.schema`` or the one by name)."""
    if doc.kind != "Config":
        return ""
    meta = doc.data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    explicit = meta.get("schema")
    if isinstance(explicit, str) and explicit:
        return explicit.removeprefix("./")
    return f"schemas/configs/{doc.name}.schema.json"


def _cross(snapshot: Snapshot, state: _EnvRun, run: RunState, old: CrossEntry) -> list[Finding]:
    """Cross-document findings, reused while what they are computed from is unchanged: the
    facts of every document (an edit no rule reads, such as most of a Config's spec, keeps the
    key), today, and the input keys of the documents the findings point at (their file:line)."""
    if old[0] and old[0] == _cross_key(state, run, old[2]):
        state.cross = old
        return [from_row(row) for row in old[1]]
    facts = {
        k: v if isinstance(v, DocFacts) else decode_facts(v) for k, v in sorted(state.facts.items())
    }
    environment = facts.get(f"{state.env}/environment/{state.env}")
    issues = list(cross_issues(CrossContext(state.env, facts, environment, run.today)))
    targets = {issue.key for issue in issues}
    rendered = _render_targets(snapshot, state, targets, run)
    found = [to_finding(rendered[i.key], i) for i in issues if i.key in rendered]
    state.cross = (_cross_key(state, run, targets), tuple(map(to_row, found)), tuple(targets))
    return found


def _cross_key(state: _EnvRun, run: RunState, targets: tuple[str, ...] | set[str]) -> str:
    summary = hashlib.blake2b(f"{run.today.isoformat()}\0{state.env}".encode(), digest_size=16)
    summary.update("".join(f"\0{k}\0{state.digests[k]}" for k in sorted(state.facts)).encode())
    for key in sorted(targets):
        summary.update(f"\0target\0{key}\0{state.input_keys.get(key, '-')}".encode())
    return summary.hexdigest()


def _render_targets(
    snapshot: Snapshot, state: _EnvRun, keys: set[str], run: RunState
) -> dict[str, RenderedDoc]:
    """Render again the documents a cross-document finding points at (for file:line)."""
    from qv_config.render.engine import render_environment

    wanted = {state.sources[key] for key in keys if key in state.sources}
    if not wanted:
        return {}
    return dict(render_environment(snapshot, state.env, paths=wanted, memo=run.templates).docs)


def encode_facts(facts: DocFacts) -> tuple[bytes, str] | None:
    """Facts as bytes for a record, and their digest (None: a value that cannot be stored)."""
    row = (facts.key, facts.kind, facts.name, dict(facts.spec))
    try:
        return marshal.dumps(row), facts_digest(row)
    except ValueError:
        return None


def decode_facts(blob: bytes) -> DocFacts:
    return DocFacts(*marshal.loads(blob))


def facts_digest(row: tuple[Any, ...]) -> str:
    """What the cross-document rules read of a document, as a digest. repr, not marshal:
    marshal's bytes vary with string interning and object sharing; repr of plain data is exact
    (1 vs 1.0 vs True, nan and inf vs None)."""
    return hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()

"""Validating one environment while rendering only the documents whose inputs changed.

A document's rendered value is a function of: its main file, its overlay, the templates of its
``extends`` chain, the Environment document (the templating context, itself rendered from its
layers), qv.yaml and the rendering code (the cache header). The previous run recorded, per main
file, a *pre-render key* (the digests of exactly those inputs, as a tuple: compared, not hashed)
and the template chain it used with each template's digest. When the same key comes out now and
every template of the chain has its recorded digest (unchanged templates linearise the same),
the document is not rendered: its findings and cross-document facts come from the per-document
cache. Only documents without a record, or whose key changed, are rendered; cross-document
findings that point at a document left out render that one document for its file:line.

Safety net: documents that failed to render keep no record (they are rendered every run), and a
duplicate (kind, name) between a rendered and a reused document makes the run render everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qv_config.findings import Finding
from qv_config.validate.cache import (
    DocRecord,
    Entry,
    FactsBlob,
    PreKey,
    decode_facts,
    from_row,
)
from qv_config.validate.engine import (
    RunState,
    check_document,
    cross_issues,
    env_digest,
    to_finding,
)
from qv_config.validate.types import CrossContext, DocFacts

if TYPE_CHECKING:
    from qv_config.render.jobs import Job
    from qv_config.render.types import RenderedDoc, RenderedEnv
    from qv_config.repo.types import Snapshot

Documents = tuple[tuple[str, str, str], ...]  # (kind, name, source file)


@dataclass
class _EnvRun:
    """What one environment's incremental run has gathered."""

    env: str
    findings: list[Finding] = field(default_factory=list)
    facts: dict[str, DocFacts | FactsBlob] = field(default_factory=dict)
    input_keys: dict[str, str] = field(default_factory=dict)  # doc key -> input key
    sources: dict[str, str] = field(default_factory=dict)  # doc key -> main file
    names: dict[str, tuple[str, str]] = field(default_factory=dict)  # doc key -> (kind, name)
    records: dict[str, DocRecord] = field(default_factory=dict)
    rendered: dict[str, RenderedDoc] = field(default_factory=dict)


@dataclass(frozen=True)
class EnvPlan:
    """What checking one environment will render and reuse, decided before any rendering: the
    caller sees how much work there is (forked workers pay only for much rendering)."""

    env: str
    digest: str  # of the rendered Environment document (the templating context)
    shared: str  # the environment's part of every pre-render key
    reused: dict[str, DocRecord]  # main path -> record of a document not rendered again
    entries: dict[str, Entry]  # document key -> its cached results
    todo: frozenset[str]  # main paths of the documents to render

    @property
    def renders(self) -> int:
        return len(self.todo)


def plan_env(snapshot: Snapshot, env: str, run: RunState) -> EnvPlan:
    """Which documents of ``env`` would render as last time (their cached results are reused)
    and which must be rendered."""
    from qv_config.render.engine import render_environment
    from qv_config.render.jobs import env_jobs

    files = snapshot.environments[env]
    context = render_environment(snapshot, env, paths=())  # the Environment document alone
    digest = env_digest(context)
    old = run.cache.records(env)
    jobs = [job for job in env_jobs(snapshot, files) if job[0] is not files.environment]
    templates = {name: doc.digest for name, doc in snapshot.templates.items()}
    shared = _context(digest, run)
    candidates = {
        job[0].path: record
        for job in jobs
        if (record := old.get(job[0].path)) is not None
        and _unchanged(job, record, (templates, shared), run)
    }
    entries = run.cache.reusable(env, {record[1]: record[5] for record in candidates.values()})
    reused = {path: record for path, record in candidates.items() if record[1] in entries}
    todo = frozenset(job[0].path for job in jobs) - reused.keys()
    return EnvPlan(env, digest, shared, reused, entries, todo)


def check_env(
    snapshot: Snapshot, env: str, run: RunState, sources: bool = True, plan: EnvPlan | None = None
) -> tuple[list[Finding], Documents]:
    """Every finding of ``env`` and its documents (with their main file when ``sources``);
    renders only what changed since the cache was written (``plan``: see ``plan_env``)."""
    from qv_config.render.engine import render_environment

    plan = plan if plan is not None else plan_env(snapshot, env, run)
    reused = plan.reused
    rendered = render_environment(snapshot, env, paths=plan.todo) if reused else None
    if rendered is None or _collides(rendered, list(reused.values())):
        reused, rendered = {}, render_environment(snapshot, env)
    state = _EnvRun(env)
    if reused:
        run.cache.reuse(env, plan.entries)
        _reuse(state, reused, plan.entries, run)
    _check_rendered(state, rendered, (plan.digest, plan.shared), run)
    state.findings += _cross(snapshot, state, rendered, run)
    run.cache.put_records(env, state.records)
    documents = tuple(
        (*state.names[key], state.sources[key] if sources else "") for key in state.names
    )
    return state.findings, documents


def _context(digest: str, run: RunState) -> str:
    """The part of every pre-render key that is the same for all documents of an environment:
    computed once, and one string object shared by all its records (marshal stores it once)."""
    return f"{digest}\n{run.project_digest}\n{run.today.isoformat()}"


def _prekey(job: Job, context: str) -> PreKey:
    """The inputs of a document's rendering besides its template chain, as a tuple: compared,
    not hashed (thousands per environment; the main path is the record's own key)."""
    main, role, overlay = job
    if overlay is None:
        return (context, role, main.digest, "-", "")
    return (context, role, main.digest, overlay.path, overlay.digest)


def _unchanged(
    job: Job, record: DocRecord, digests: tuple[dict[str, str], str], run: RunState
) -> bool:
    """Whether the document of ``job`` would render as last time (its cached results are
    looked up apart, for all documents at once)."""
    prekey, _key, _kind, _name, chain, _input_key, schema_path, schema_digest = record
    templates, context = digests
    if _prekey(job, context) != prekey:
        return False
    for name, template in chain:  # unchanged templates linearise the same
        if templates.get(name) != template:
            return False
    return not schema_path or run.schemas.digest_of(schema_path) == schema_digest


def _collides(rendered: RenderedEnv, reused: list[DocRecord]) -> bool:
    """A (kind, name) defined both by a rendered (or failed) document and by a reused one."""
    seen = {(record[2], record[3]) for record in reused}
    if len(seen) != len(reused):
        return True
    mine = {(doc.kind, doc.name) for doc in rendered.docs.values()}
    mine |= {(f.kind, f.name) for f in rendered.findings if f.kind and f.name}
    return bool(seen & mine)


def _reuse(
    state: _EnvRun, reused: dict[str, DocRecord], entries: dict[str, Entry], run: RunState
) -> None:
    """Take the cached results of the documents not rendered again (thousands: one loop)."""
    run.cached += len(reused)
    for path, record in reused.items():
        key = record[1]
        entry = entries[key]
        if entry[1]:
            state.findings += [from_row(row) for row in entry[1]]
        state.facts[key] = entry[2]
        state.input_keys[key] = record[5]
        state.names[key] = (record[2], record[3])
        state.sources[key] = path
    state.records.update(reused)


def _check_rendered(
    state: _EnvRun, rendered: RenderedEnv, digests: tuple[str, str], run: RunState
) -> None:
    """Check the documents rendered this run; ``digests``: the Environment document's digest
    and the shared part of this environment's pre-render keys."""
    digest, context = digests
    state.findings += rendered.findings
    for key, doc in rendered.docs.items():
        found, state.facts[key], input_key = check_document(doc, digest, run)
        state.findings += found
        state.input_keys[key] = input_key
        state.names[key] = (doc.kind, doc.name)
        state.sources[key] = doc.source
        state.rendered[key] = doc
        if doc.kind != "Environment":  # always rendered: the context of the others
            state.records[doc.source] = _record(doc, context, input_key, run)


def _record(doc: RenderedDoc, context: str, input_key: str, run: RunState) -> DocRecord:
    chain = tuple((lay.label, lay.doc.digest) for lay in doc.layers if lay.role == "template")
    main = next(lay for lay in doc.layers if lay.role in ("base", "document"))
    overlay = next((lay.doc for lay in doc.layers if lay.role == "overlay"), None)
    job: Job = (main.doc, main.role, overlay)
    schema_path = _schema_path(doc)
    schema_digest = run.schemas.digest_of(schema_path) if schema_path else ""
    prekey = _prekey(job, context)
    return (prekey, doc.key, doc.kind, doc.name, chain, input_key, schema_path, schema_digest)


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


def _cross(
    snapshot: Snapshot, state: _EnvRun, rendered: RenderedEnv, run: RunState
) -> list[Finding]:
    """Cross-document findings, cached by what they are computed from: the facts of every
    document (an edit no rule reads, such as most of a Config's spec, keeps the key), today, and
    the input keys of the documents the findings point at (their file:line)."""
    if run.cache.has_cross(state.env):  # a cold run has nothing to look up
        old_targets = run.cache.cross_targets(state.env)
        cached = run.cache.get_cross(state.env, _cross_key(state, run, old_targets))
        if cached is not None:
            return cached
    decoded = {
        k: v if isinstance(v, DocFacts) else decode_facts(v) for k, v in sorted(state.facts.items())
    }
    env_key = rendered.environment.key if rendered.environment else ""
    ctx = CrossContext(state.env, decoded, decoded.get(env_key), run.today)
    issues = list(cross_issues(ctx))
    targets = {issue.key for issue in issues}
    _render_targets(snapshot, state, targets)
    found = [to_finding(state.rendered[i.key], i) for i in issues if i.key in state.rendered]
    if run.cache.path is not None:  # the key is work for nothing without a cache
        run.cache.put_cross(state.env, _cross_key(state, run, targets), found, targets)
    return found


def _cross_key(state: _EnvRun, run: RunState, targets: Iterable[str]) -> str:
    summary = hashlib.blake2b(f"{run.today.isoformat()}\0{state.env}".encode(), digest_size=16)
    # Stored with each document's cache entry (reused, or checked and stored by this run).
    stored = run.cache.facts_digests(state.env)
    for key in sorted(state.facts):
        # With the cache on, only facts marshal cannot store have no digest: they count by
        # their document's whole input key.
        digest = stored.get(key) or f"input:{state.input_keys[key]}"
        summary.update(f"\0{key}\0{digest}".encode())
    for key in sorted(targets):
        summary.update(f"\0target\0{key}\0{state.input_keys.get(key, '-')}".encode())
    return summary.hexdigest()


def _render_targets(snapshot: Snapshot, state: _EnvRun, keys: set[str]) -> None:
    """Render the reused documents a cross-document finding points at (for file:line)."""
    from qv_config.render.engine import render_environment

    missing = {state.sources[key] for key in keys if key in state.sources} - {
        doc.source for doc in state.rendered.values()
    }
    if missing:
        extra = render_environment(snapshot, state.env, paths=missing)
        state.rendered.update(extra.docs)

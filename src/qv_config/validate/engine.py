"""The validation engine: runs the stages of SPEC §4 over rendered environments.

Per environment: the renderer's findings; then per document the schema stage, the document rules
and the secrets rule, plus the facts the cross-document rules need; then the cross-document rules
on those facts. Pure: ``validate.incremental`` wraps it with the memo of ``cache.results``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from qv_config.cache.templates import NO_VALUES, TemplateValues
from qv_config.findings import Finding, dotted
from qv_config.validate import facts as facts_mod
from qv_config.validate.registry import severity_of, stage_functions
from qv_config.validate.rules.secrets import SecretPattern, stray_ciphertexts
from qv_config.validate.schema import SchemaStore, builtin_issues, builtin_secrets, config_issues
from qv_config.validate.types import CrossContext, DocFacts, Issue
from qv_config.yamlio.types import FieldPath, Mark

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc, RenderedEnv
    from qv_config.validate.plaintexts import Plaintexts


@dataclass
class RunState:
    """What one run shares across environments: schemas, today, counters, and the Config
    envelopes the model accepted (see ``_model_key``; kept across runs by ``cache.results``).

    ``project_digest`` is what every result depends on besides the document's own inputs:
    qv.yaml and, when ``plaintexts`` opens secrets for the schema stage, the keys at hand."""

    schemas: SchemaStore
    today: date = field(default_factory=date.today)
    project_digest: str = ""
    plaintexts: Plaintexts | None = None
    # Files with a sops: block; None: unknown (no QV606 check). A file's content decides whether
    # it is one, and every layer's digest is in a document's input key: safe to cache by it.
    encrypted: frozenset[str] | None = None
    validated: int = 0
    cached: int = 0
    models_ok: set[str] = field(default_factory=set)
    templates: TemplateValues = NO_VALUES  # passed to the renderer (``cache.templates``)
    # The value kept of every document rendered (``qv sync``: its canonical JSON).
    value_of: Callable[[RenderedDoc], bytes] | None = None
    # Told of each document rendered and checked (progress; in a worker, a shared counter).
    tick: Callable[[int], None] = field(default=lambda _n: None, repr=False)
    # This process's own work, done once while forked workers render (``qv sync``: saving the
    # parse memo); not called when none are forked.
    meanwhile: Callable[[], None] | None = field(default=None, repr=False)


def locate(doc: RenderedDoc, path: FieldPath) -> tuple[str, int, int]:
    """File, line, col of the layer that set ``path`` (or the nearest enclosing value)."""
    probe = path
    while True:
        try:
            where = doc.locate(probe)
        except (KeyError, IndexError, TypeError, ValueError):
            where = None
        if where is not None and where.file:
            mark = _key_mark(doc, where.file, probe) or where.mark
            return where.file, (mark.line if mark else 0), (mark.col if mark else 0)
        if not probe:
            return doc.source, 0, 0
        probe = probe[:-1]


def _key_mark(doc: RenderedDoc, file: str, path: FieldPath) -> Mark | None:
    """The position of the field's *key* in the layer that set it: the line a person edits,
    the same whether or not the loader tracks scalar positions (list items have no key)."""
    if not path or not isinstance(path[-1], str):
        return None
    for layer in reversed(doc.layers):
        if layer.doc.path == file:
            return layer.doc.positions().get(("__key__", *path))
    return None


def to_finding(doc: RenderedDoc, issue: Issue) -> Finding:
    file, line, col = locate(doc, issue.path)
    return Finding(
        issue.code,
        issue.message,
        file,
        line,
        col,
        severity_of(issue.code),
        doc.env,
        doc.kind,
        doc.name,
        dotted(issue.path),
    )


def _model_key(doc: RenderedDoc) -> str | None:
    """What the built-in model of a Config reads of it: everything but the values under
    ``spec``, which the model takes as any ``dict[str, Any]`` (the service schema checks them).
    Only for a plain dict with plain string keys; None otherwise (no shortcut)."""
    data = doc.data
    if doc.kind != "Config" or type(data) is not dict:
        return None
    spec = data.get("spec")
    if type(spec) is not dict or not {*map(type, spec)} <= _TEXT:  # every key plain text
        return None
    envelope = dict(data)  # in the same order, without spec
    del envelope["spec"]
    # repr of builtin values is exact (marshal's bytes vary with string interning).
    blob = repr((doc.kind, envelope)).encode()
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


_TEXT = frozenset({str})


def _model_issues(doc: RenderedDoc, run: RunState) -> list[Issue]:
    """QV301-QV303 from the kind's pydantic model; a Config whose envelope was accepted before
    is accepted again without importing pydantic (an edit of its spec changes nothing here)."""
    key = _model_key(doc)
    if key is not None and key in run.models_ok:
        return []
    issues = builtin_issues(doc.kind, doc.data)
    if key is not None and not issues:
        run.models_ok.add(key)
    return issues


def _document_issues(doc: RenderedDoc, run: RunState) -> tuple[list[Issue], list[Finding]]:
    issues = _model_issues(doc, run)
    extra: list[Finding] = []
    patterns: list[SecretPattern] | None = None
    if doc.kind == "Config":
        source, missing = run.schemas.for_config(doc.data)
        issues += [missing] if missing else []
        schema = run.schemas.parsed(source) if source is not None else None
        if schema is not None and schema.problem is not None:
            p = schema.problem
            extra.append(
                Finding(
                    "QV311",
                    p.message,
                    p.file,
                    p.line,
                    p.col,
                    severity_of("QV311"),
                    doc.env,
                    doc.kind,
                    doc.name,
                    "metadata.schema",
                )
            )
        elif schema is not None:
            plain = run.plaintexts.of(doc) if run.plaintexts is not None else None
            issues += config_issues(schema, doc.data.get("spec"), plain)
            patterns = list(schema.secrets)
    # A value the schema already rejects is one problem, not two: document rules stay quiet there.
    rejected = {issue.path for issue in issues} if issues else ()
    kind, data = doc.kind, doc.data
    for func in stage_functions("document"):  # a loop, not a comprehension each: per document
        for issue in func(kind, data):
            if issue.path not in rejected:
                issues.append(issue)
    if patterns is None:  # a Config's secret fields come from its service schema when it has one
        patterns = builtin_secrets(doc.kind)
    for func in stage_functions("secrets"):
        issues += func(doc.data, patterns)
    if run.encrypted is not None:
        extra += stray_ciphertexts(doc, run.encrypted)
    return issues, extra


def _schema_digest(doc: RenderedDoc, run: RunState) -> str:
    if doc.kind != "Config":
        return ""
    schema, _ = run.schemas.for_config(doc.data)
    return schema.digest if schema else "-"


def input_key(doc: RenderedDoc, env_digest: str, run: RunState) -> str:
    """Digest of everything a document's own stages read: its layers, the Environment
    document's (``env_digest``), qv.yaml and its service schema."""
    parts = [doc.key, env_digest, run.project_digest, _schema_digest(doc, run)]
    for layer in doc.layers:  # a loop, not a comprehension (a call): once per document
        parts.append(f"{layer.role}:{layer.doc.path}:{layer.doc.digest}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def check_document(doc: RenderedDoc, run: RunState) -> tuple[list[Finding], DocFacts]:
    """Findings of one document's own stages, and its facts for the cross-document rules."""
    run.validated += 1
    issues, found = _document_issues(doc, run)
    if issues:  # nearly never: no comprehension (a call) per document
        found += [to_finding(doc, issue) for issue in issues]
    return found, facts_mod.extract(doc.key, doc.kind, doc.name, doc.data)


def env_digest(rendered: RenderedEnv) -> str:
    """The Environment document's layer digests: what every document's templating context is
    rendered from."""
    env_doc = rendered.environment
    return layers_digest(env_doc) if env_doc is not None else "-"


def layers_digest(doc: RenderedDoc) -> str:
    return "|".join(layer.doc.digest for layer in doc.layers)


def cross_issues(ctx: CrossContext) -> Iterable[Issue]:
    for func in stage_functions("cross"):
        yield from func(ctx)


def _cross(rendered: RenderedEnv, facts: dict[str, DocFacts], run: RunState) -> list[Finding]:
    env_key = rendered.environment.key if rendered.environment else ""
    ctx = CrossContext(rendered.env, facts, facts.get(env_key), run.today)
    found = []
    for issue in cross_issues(ctx):
        target = rendered.docs.get(issue.key)
        if target is not None:
            found.append(to_finding(target, issue))
    return found


def check_environment(rendered: RenderedEnv, run: RunState) -> list[Finding]:
    """Every finding of one environment: rendering, per-document stages, cross-document rules."""
    findings = list(rendered.findings)
    all_facts: dict[str, DocFacts] = {}
    for key, doc in rendered.docs.items():
        found, all_facts[key] = check_document(doc, run)
        findings += found
    return findings + _cross(rendered, all_facts, run)


def validate_rendered(
    rendered: Iterable[RenderedEnv],
    *,
    read: Callable[[str], bytes | None] = lambda _path: None,
    today: date | None = None,
) -> list[Finding]:
    """Validate already rendered environments; for tools and tests."""
    run = RunState(SchemaStore(read), today=today or date.today())
    out: list[Finding] = []
    for env in rendered:
        out += check_environment(env, run)
    return sorted(out, key=Finding.sort_key)

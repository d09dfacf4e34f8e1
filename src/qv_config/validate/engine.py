"""The validation engine: runs the stages of SPEC §4 over rendered environments.

Per environment: the renderer's findings; then per document (cached by the content digests of
its inputs) the schema stage, the document rules and the secrets rule, plus the facts the
cross-document rules need; then the cross-document rules on those facts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from qv_config.findings import Finding, dotted
from qv_config.validate import facts as facts_mod
from qv_config.validate.cache import FactsBlob, ResultCache, decode_facts
from qv_config.validate.registry import severity_of, stage_functions
from qv_config.validate.rules.secrets import SecretPattern, stray_ciphertexts
from qv_config.validate.schema import SchemaStore, builtin_issues, builtin_secrets, config_issues
from qv_config.validate.types import CrossContext, DocFacts, Issue
from qv_config.yamlio.types import FieldPath, Mark

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc, RenderedEnv


@dataclass
class RunState:
    """What one run shares across environments: schemas, cache, today, counters."""

    schemas: SchemaStore
    cache: ResultCache = field(default_factory=ResultCache.disabled)
    today: date = field(default_factory=date.today)
    project_digest: str = ""
    # Files with a sops: block; None: unknown (no QV606 check). A file's content decides whether
    # it is one, and every layer's digest is in a document's input key: safe to cache by it.
    encrypted: frozenset[str] | None = None
    validated: int = 0
    cached: int = 0


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
    if type(spec) is not dict or not all(type(key) is str for key in spec):
        return None
    envelope = {key: value for key, value in data.items() if key != "spec"}
    # repr of builtin values is exact (marshal's bytes vary with string interning).
    blob = repr((doc.kind, envelope)).encode()
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


def _model_issues(doc: RenderedDoc, run: RunState) -> list[Issue]:
    """QV301-QV303 from the kind's pydantic model; a Config whose envelope was accepted before
    is accepted again without importing pydantic (an edit of its spec changes nothing here)."""
    key = _model_key(doc)
    if key is not None and key in run.cache.models_ok:
        return []
    issues = builtin_issues(doc.kind, doc.data)
    if key is not None and not issues:
        run.cache.models_ok.add(key)
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
            issues += config_issues(schema, doc.data.get("spec"))
            patterns = list(schema.secrets)
    # A value the schema already rejects is one problem, not two: document rules stay quiet there.
    rejected = {issue.path for issue in issues}
    for func in stage_functions("document"):
        issues += [i for i in func(doc.kind, doc.data) if i.path not in rejected]
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


def _input_key(doc: RenderedDoc, env_digest: str, run: RunState) -> str:
    parts = [doc.key, env_digest, run.project_digest, _schema_digest(doc, run)]
    parts += [f"{layer.role}:{layer.doc.path}:{layer.doc.digest}" for layer in doc.layers]
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def check_document(
    doc: RenderedDoc, env_digest: str, run: RunState
) -> tuple[list[Finding], DocFacts | FactsBlob, str]:
    """Findings of one document's own stages, its facts (encoded when they come from the cache)
    and its input key; from cache when the document's inputs match."""
    key = _input_key(doc, env_digest, run)
    hit = run.cache.get(doc.env, doc.key, key)
    if hit is not None:
        run.cached += 1
        return hit[0], hit[1], key
    run.validated += 1
    issues, found = _document_issues(doc, run)
    found += [to_finding(doc, issue) for issue in issues]
    facts = facts_mod.extract(doc.key, doc.kind, doc.name, doc.data)
    run.cache.put(doc.env, doc.key, key, found, facts)
    return found, facts, key


def env_digest(rendered: RenderedEnv) -> str:
    """The Environment document's layer digests: what every document's templating context is
    rendered from."""
    env_doc = rendered.environment
    if env_doc is None:
        return "-"
    return "|".join(layer.doc.digest for layer in env_doc.layers)


def cross_issues(ctx: CrossContext) -> Iterable[Issue]:
    for func in stage_functions("cross"):
        yield from func(ctx)


def _cross(
    rendered: RenderedEnv, facts: dict[str, DocFacts | FactsBlob], run: RunState
) -> list[Finding]:
    decoded = {k: v if isinstance(v, DocFacts) else decode_facts(v) for k, v in facts.items()}
    env_key = rendered.environment.key if rendered.environment else ""
    ctx = CrossContext(rendered.env, decoded, decoded.get(env_key), run.today)
    found = []
    for issue in cross_issues(ctx):
        target = rendered.docs.get(issue.key)
        if target is not None:
            found.append(to_finding(target, issue))
    return found


def check_environment(rendered: RenderedEnv, run: RunState) -> list[Finding]:
    """Every finding of one environment: rendering, per-document stages, cross-document rules."""
    findings = list(rendered.findings)
    digest = env_digest(rendered)
    all_facts: dict[str, DocFacts | FactsBlob] = {}
    summary = hashlib.blake2b(run.today.isoformat().encode(), digest_size=16)
    for key, doc in rendered.docs.items():
        found, all_facts[key], input_key = check_document(doc, digest, run)
        summary.update(input_key.encode())
        findings += found
    # Cross rules read only facts of these documents (and today): same inputs, same findings.
    aggregate = summary.hexdigest()
    cross = run.cache.get_cross(rendered.env, aggregate)
    if cross is None:
        cross = _cross(rendered, all_facts, run)
        run.cache.put_cross(rendered.env, aggregate, cross, ())  # the key covers every input
    return findings + cross


def validate_rendered(
    rendered: Iterable[RenderedEnv],
    *,
    read: Callable[[str], bytes | None] = lambda _path: None,
    today: date | None = None,
) -> list[Finding]:
    """Validate already rendered environments (no cache); for tools and tests."""
    run = RunState(SchemaStore(read), today=today or date.today())
    out: list[Finding] = []
    for env in rendered:
        out += check_environment(env, run)
    return sorted(out, key=Finding.sort_key)

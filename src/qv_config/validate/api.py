"""``validate(snapshot, envs, paths)``: the entry point of SPEC §4."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from qv_config.errors import UsageError
from qv_config.findings import Finding
from qv_config.validate.cache import ResultCache
from qv_config.validate.engine import RunState, check_environment
from qv_config.validate.schema import SchemaStore
from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.render.types import RenderedEnv
    from qv_config.repo.types import Snapshot


def select_envs(snapshot: Snapshot, envs: Sequence[str] | None) -> tuple[str, ...]:
    known = snapshot.env_names
    if not envs:
        return tuple(known)
    unknown = [e for e in envs if e not in known]
    if unknown:
        raise UsageError(
            f"unknown environment {', '.join(map(repr, unknown))}",
            hint=f"environments of qv.yaml: {', '.join(known) or 'none'}",
        )
    return tuple(dict.fromkeys(envs))


def _under(file: str, prefixes: tuple[str, ...]) -> bool:
    return any(not p or file == p or file.startswith(p + "/") for p in prefixes)


def _normalise(paths: Sequence[str]) -> tuple[str, ...]:
    out = []
    for raw in paths:
        path = raw.replace("\\", "/").strip("/")
        while path.startswith("./"):
            path = path[2:]
        out.append("" if path == "." else path)
    return tuple(out)


def _yaml_files(snapshot: Snapshot) -> set[str]:
    files = {doc.path for doc in snapshot.templates.values()}
    files |= set(snapshot.bases)
    for env in snapshot.environments.values():
        files |= {doc.path for doc in env.documents.values()}
        files |= {doc.path for doc in env.overlays.values()}
        files |= {env.environment.path} if env.environment else set()
    files |= {f.file for f in snapshot.findings if f.code.startswith("QV1")}
    files |= {"qv.yaml"} if snapshot.project_doc else set()
    return files


def _render(snapshot: Snapshot, env: str) -> RenderedEnv:
    from qv_config.render.engine import render_environment

    return render_environment(snapshot, env)


def _shared_signature(snapshot: Snapshot, run: RunState) -> str:
    """Digest of what every environment renders from: qv.yaml, templates, bases, today."""
    h = hashlib.blake2b(f"{run.project_digest}\0{run.today.isoformat()}".encode(), digest_size=16)
    for name, doc in sorted(snapshot.templates.items()):
        h.update(f"\0t{name}\0{doc.digest}".encode())
    for path, doc in sorted(snapshot.bases.items()):
        h.update(f"\0b{path}\0{doc.digest}".encode())
    return h.hexdigest()


def _env_signature(snapshot: Snapshot, env: str, shared: str) -> str:
    """Digest of every file environment ``env`` renders from (the schemas are checked apart)."""
    h = hashlib.blake2b(shared.encode(), digest_size=16)
    files = snapshot.environments.get(env)
    if files is not None:
        h.update(f"\0e{files.environment.digest if files.environment else '-'}".encode())
        for path, doc in sorted(files.documents.items()):
            h.update(f"\0d{path}\0{doc.digest}".encode())
        for path, doc in sorted(files.overlays.items()):
            h.update(f"\0o{path}\0{doc.digest}".encode())
    return h.hexdigest()


def _check_env(
    snapshot: Snapshot, env: str, signature: str, run: RunState, sources: bool
) -> tuple[list[Finding], tuple[tuple[str, str, str], ...]]:
    """All findings and documents of one environment: reused whole when nothing changed."""
    hit = run.cache.env_hit(env, signature, run.schemas.digest_of, sources)
    if hit is not None:
        run.cached += len(hit[1])
        return hit
    rendered = _render(snapshot, env)
    findings = check_environment(rendered, run)
    # A document's source file matters only to the path filter (and costs a layer walk).
    documents = tuple((d.kind, d.name, d.source if sources else "") for d in rendered.docs.values())
    run.cache.put_env(env, signature, run.schemas.reads(), findings, documents, sources)
    return findings, documents


def validate(
    snapshot: Snapshot,
    envs: Sequence[str] | None = None,
    paths: Sequence[str] = (),
    *,
    use_cache: bool = True,
    today: date | None = None,
) -> ValidationResult:
    """Validate the environments ``envs`` (default: all) of ``snapshot``; report every finding.

    ``paths`` keeps only findings whose file is under one of them (everything is still rendered).
    """
    names = select_envs(snapshot, envs)
    cache = ResultCache.load(snapshot.root) if use_cache else ResultCache.disabled()
    project = snapshot.project_doc.digest if snapshot.project_doc else ""
    schemas = SchemaStore(snapshot.read, cache.schemas_ok)
    run = RunState(schemas, cache, today or date.today(), project)
    findings: list[Finding] = list(snapshot.findings)
    prefixes = _normalise(paths)
    documents: set[tuple[str, str, str]] = set()
    shared = _shared_signature(snapshot, run) if use_cache else ""
    for env in names:
        signature = _env_signature(snapshot, env, shared) if use_cache else ""
        found, docs = _check_env(snapshot, env, signature, run, bool(prefixes))
        findings += found
        documents.update(docs)
    cache.save()
    if prefixes:
        findings = [f for f in findings if _under(f.file, prefixes)]
        documents = {d for d in documents if _under(d[2], prefixes)}
    return _result(snapshot, findings, names, prefixes, documents, run)


def _result(
    snapshot: Snapshot,
    findings: list[Finding],
    names: tuple[str, ...],
    prefixes: tuple[str, ...],
    documents: set[tuple[str, str, str]],
    run: RunState,
) -> ValidationResult:
    unique = sorted(set(findings), key=Finding.sort_key)
    files = _yaml_files(snapshot)
    if prefixes:
        files = {f for f in files if _under(f, prefixes)}
    errors = sum(1 for f in unique if f.is_error)
    stats = ValidationStats(run.validated + run.cached, run.validated, run.cached)
    return ValidationResult(
        tuple(unique),
        errors,
        len(unique) - errors,
        names,
        len(files),
        len({(k, n) for k, n, _ in documents}),
        stats,
    )

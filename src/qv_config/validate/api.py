"""``validate(snapshot, envs, paths)``: the entry point of SPEC §4."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.errors import UsageError
from qv_config.findings import Finding
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.validate import parallel
from qv_config.validate.cache import ResultCache
from qv_config.validate.engine import RunState, check_document, check_environment
from qv_config.validate.incremental import EnvPlan, check_env, plan_env
from qv_config.validate.registry import stage_functions
from qv_config.validate.schema import SchemaStore
from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.render.types import RenderedEnv
    from qv_config.repo.types import Snapshot
    from qv_config.yamlio import LoadedDoc


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


def _shared_signature(snapshot: Snapshot, run: RunState) -> str:
    """Digest of what every environment renders from: qv.yaml, templates, bases, today."""
    h = hashlib.blake2b(f"{run.project_digest}\0{run.today.isoformat()}".encode(), digest_size=16)
    h.update(_listing("t", snapshot.templates))
    h.update(_listing("b", snapshot.bases))
    return h.hexdigest()


def _env_signature(snapshot: Snapshot, env: str, shared: str) -> str:
    """Digest of every file environment ``env`` renders from (the schemas are checked apart)."""
    h = hashlib.blake2b(shared.encode(), digest_size=16)
    files = snapshot.environments.get(env)
    if files is not None:
        h.update(f"\0e{files.environment.digest if files.environment else '-'}".encode())
        h.update(_listing("d", files.documents))
        h.update(_listing("o", files.overlays))
    return h.hexdigest()


def _listing(tag: str, docs: Mapping[str, LoadedDoc]) -> bytes:
    # One string and one hash update for thousands of files, not one of each per file.
    return "".join([f"\0{tag}{path}\0{doc.digest}" for path, doc in sorted(docs.items())]).encode()


def _check_env(
    snapshot: Snapshot, plan: EnvPlan, signature: str, run: RunState, sources: bool
) -> tuple[list[Finding], tuple[tuple[str, str, str], ...]]:
    """All findings and documents of one environment that the cache could not serve whole."""
    env = plan.env
    findings, documents = check_env(snapshot, env, run, sources, plan)
    run.cache.put_env(env, signature, run.schemas.reads(), findings, documents, sources)
    return findings, documents


def _check_envs(
    snapshot: Snapshot,
    names: tuple[str, ...],
    run: RunState,
    sources: bool,
    use_cache: bool,
    progress: Progress,
) -> list[tuple[list[Finding], tuple[tuple[str, str, str], ...]]]:
    """Findings and documents per environment; environments not served whole from the cache
    are checked in parallel worker processes when the repository is large enough."""
    shared = _shared_signature(snapshot, run) if use_cache else ""
    signatures = {env: _env_signature(snapshot, env, shared) if use_cache else "" for env in names}
    results = {}
    for env in names:
        hit = run.cache.env_hit(env, signatures[env], run.schemas.digest_of, sources)
        if hit is not None:
            run.cached += len(hit[1])
            results[env] = hit
    todo = [env for env in names if env not in results]
    # Planned first (what each environment reuses and renders): forked workers pay only when
    # there is much to render, not for a few edited documents in a large tree.
    plans = {env: plan_env(snapshot, env, run) for env in todo}

    def check(env: str) -> tuple[list[Finding], tuple[tuple[str, str, str], ...]]:
        return _check_env(snapshot, plans[env], signatures[env], run, sources)

    def done(env: str) -> None:
        progress.advance(plans[env].renders)

    total = sum(plan.renders for plan in plans.values())
    if total:
        progress.start(f"validating {', '.join(todo)}", total)
    try:
        if parallel.worth_it(snapshot, todo, total):
            checked = parallel.check_all(snapshot, todo, check, run, done)
            results.update(zip(todo, checked, strict=True))
        else:
            for env in todo:
                results[env] = check(env)
                done(env)
    finally:
        if total:
            progress.stop()
    return [results[env] for env in names]


def validate(
    snapshot: Snapshot,
    envs: Sequence[str] | None = None,
    paths: Sequence[str] = (),
    *,
    use_cache: bool = True,
    today: date | None = None,
    progress: Progress = NO_PROGRESS,
) -> ValidationResult:
    """Validate the environments ``envs`` (default: all) of ``snapshot``; report every finding.

    ``paths`` keeps only findings whose file is under one of them (everything is still rendered).
    ``progress`` hears of the documents rendered and checked, environment by environment.
    """
    names = select_envs(snapshot, envs)
    cache = ResultCache.load(snapshot.root) if use_cache else ResultCache.disabled()
    project = snapshot.project_doc.digest if snapshot.project_doc else ""
    code_dir = snapshot.root if use_cache else None
    schemas = SchemaStore(snapshot.read, cache.schemas_ok, code_dir=code_dir)
    run = RunState(schemas, cache, today or date.today(), project, frozenset(snapshot.encrypted))
    findings: list[Finding] = list(snapshot.findings)
    prefixes = _normalise(paths)
    documents: set[tuple[str, str, str]] = set()
    # Checking allocates many small acyclic objects next to the large live snapshot: the cyclic
    # collector would walk that heap over and over (~0.4 s of a cold run of 10,000 documents).
    enabled = gc.isenabled()
    gc.disable()
    try:
        for found, docs in _check_envs(snapshot, names, run, bool(prefixes), use_cache, progress):
            findings += found
            documents.update(docs)
    finally:
        if enabled:
            gc.enable()
    for check in stage_functions("files"):  # whole-snapshot rules (secrets: QV602–QV605)
        findings += check(snapshot, names)
    cache.save(keep=snapshot.env_names)  # an --env run keeps the others' records
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


def check_rendered(
    rendered: Iterable[RenderedEnv],
    read: Callable[[str], bytes | None],
    *,
    documents_only: bool = False,
    root: Path | None = None,
    today: date | None = None,
    encrypted: Collection[str] | None = None,
) -> list[Finding]:
    """Findings of already rendered environments, without the result cache: for tools that
    render a state themselves, such as ``qv diff``.

    ``read`` reads the state's files (Config schemas). ``documents_only`` runs the per-document
    stages alone (schema, document rules, secrets), for a set of documents rendered out of a
    whole environment: cross-document rules need all of it (``qv validate`` runs them), and the
    renderer's findings are left to the caller. ``root`` is the project whose
    ``.qv/cache/schemacode/`` keeps compiled schemas across runs (None: no disk cache).
    ``encrypted``: the state's files with a sops: block (``Snapshot.encrypted``), for QV606.
    """
    run = RunState(SchemaStore(read, code_dir=root), today=today or date.today())
    run.encrypted = frozenset(encrypted) if encrypted is not None else None
    found: list[Finding] = []
    for env in rendered:
        if documents_only:
            found += (f for doc in env.docs.values() for f in check_document(doc, "", run)[0])
        else:
            found += check_environment(env, run)
    return sorted(found, key=Finding.sort_key)

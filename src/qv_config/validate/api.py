"""``validate(snapshot, envs, paths)``: the entry point of SPEC §4."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.cache.results import Results
from qv_config.cache.templates import TemplateValues
from qv_config.errors import UsageError
from qv_config.findings import Finding
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.validate.engine import RunState, check_document, check_environment
from qv_config.validate.incremental import check_env, plan_env
from qv_config.validate.plaintexts import Plaintexts
from qv_config.validate.registry import stage_functions
from qv_config.validate.schema import SchemaStore
from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.render.types import RenderedEnv
    from qv_config.repo.source import WorkTreeSource
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


def _check_paths(snapshot: Snapshot, prefixes: tuple[str, ...]) -> None:
    """A PATH that matches no file qv reads is a mistake (a typo would otherwise say "valid")."""
    known = [*snapshot.digests, *(f.file for f in snapshot.findings)]
    for prefix in prefixes:
        if not any(_under(file, (prefix,)) for file in known):
            raise UsageError(
                f"path {prefix!r} matches no file qv validates",
                hint="qv reads qv.yaml, templates/, environments/, schemas/, policy/ and the"
                " bases folders of qv.yaml; check the path",
            )


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


def _check_envs(
    snapshot: Snapshot,
    names: tuple[str, ...],
    run: RunState,
    results: Results,
    sources: bool,
    progress: Progress,
) -> list[tuple[list[Finding], tuple[tuple[str, str, str], ...]]]:
    """Findings and documents per environment: from the memo when nothing an environment is
    built from changed, else checked again (rendering only what changed)."""
    shared = _shared_signature(snapshot, run) if results.enabled else ""
    signatures = {
        env: _env_signature(snapshot, env, shared) if results.enabled else "" for env in names
    }
    out = {}
    for env in names:
        hit = results.env_hit(env, signatures[env], run.schemas.digest_of, sources)
        if hit is not None:
            run.cached += len(hit[1])
            out[env] = hit
    plans = [plan_env(snapshot, env, run, results.previous(env)) for env in names if env not in out]
    total = sum(len(plan.todo) for plan in plans)
    if total:
        progress.start(f"validating {', '.join(plan.env for plan in plans)}", total)
    try:
        for plan in plans:
            findings, documents, record = check_env(snapshot, plan, run, sources)
            record.signature, record.schema_reads = signatures[plan.env], run.schemas.reads()
            results.put(plan.env, record)
            snapshot.release_values()  # the next environment decodes what it renders
            out[plan.env] = (findings, documents)
            progress.advance(len(plan.todo))
    finally:
        if total:
            progress.stop()
    return [out[env] for env in names]


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
    return _validate(snapshot, envs, paths, use_cache, progress, today)[0]


def _validate(
    snapshot: Snapshot,
    envs: Sequence[str] | None,
    paths: Sequence[str],
    use_cache: bool,
    progress: Progress,
    today: date | None = None,
) -> tuple[ValidationResult, dict[str, str]]:
    """``validate``, and the schema files it read (path -> digest)."""
    names = select_envs(snapshot, envs)
    prefixes = _normalise(paths)
    _check_paths(snapshot, prefixes)
    root = snapshot.root if use_cache else None
    results = Results(root)
    project = snapshot.project_doc.digest if snapshot.project_doc else ""
    plaintexts = Plaintexts.for_snapshot(snapshot)  # secrets checked decrypted with a key
    if plaintexts is not None:
        project += f"\0keys:{plaintexts.signature}"
    schemas = SchemaStore(snapshot.read)
    run = RunState(schemas, today or date.today(), project, plaintexts, models_ok=results.models_ok)
    run.encrypted = frozenset(snapshot.encrypted)
    run.templates = TemplateValues(root, project)
    findings: list[Finding] = list(snapshot.findings)
    documents: set[tuple[str, str, str]] = set()
    # Checking allocates many small acyclic objects next to the large live snapshot: the cyclic
    # collector would walk that heap over and over (~0.4 s of a cold run of 10,000 documents).
    enabled = gc.isenabled()
    gc.disable()
    try:
        for found, docs in _check_envs(snapshot, names, run, results, bool(prefixes), progress):
            findings += found
            documents.update(docs)
    finally:
        if enabled:
            gc.enable()
    for check in stage_functions("files"):  # whole-snapshot rules (secrets: QV602–QV605)
        findings += check(snapshot, names)
    results.save(keep=snapshot.env_names)  # an --env run keeps the others' records
    run.templates.save()
    if prefixes:
        findings = [f for f in findings if _under(f.file, prefixes)]
        documents = {d for d in documents if _under(d[2], prefixes)}
    return _result(snapshot, findings, names, prefixes, documents, run), dict(run.schemas.reads())


def validate_worktree(
    root: Path,
    envs: Sequence[str] | None = None,
    paths: Sequence[str] = (),
    *,
    use_cache: bool = True,
    progress: Progress = NO_PROGRESS,
) -> tuple[ValidationResult, Callable[[str], bytes | None]]:
    """``validate`` of the work tree at ``root``, answered from ``cache.runs`` when no file
    changed since a run with the same options (nothing is read, parsed or rendered then); and
    the reader of the tree's files (for reporters that quote lines)."""
    from qv_config.cache.runs import Runs
    from qv_config.repo import WorkTreeSource, load_snapshot
    from qv_config.repo.source import content_hash

    source = WorkTreeSource(root)
    runs = Runs(root if use_cache else None)
    project = content_hash(source.read("qv.yaml") or b"")
    bases = runs.bases(project) if runs.enabled else None
    key = _tree_key(source, project, bases, envs, paths) if bases is not None else None
    kept = runs.get(key) if key is not None else None
    if kept is not None and _reads_unchanged(source, kept[1]):
        return _kept_result(kept[0]), source.read
    snapshot = load_snapshot(source, use_cache=use_cache)
    result, reads = _validate(snapshot, envs, paths, use_cache, progress)
    info = snapshot.project_info
    if runs.enabled and info is not None and not snapshot.encrypted:
        if bases != info.bases:  # first run of this qv.yaml: its key is known now
            key = _tree_key(source, project, info.bases, envs, paths)
        if key is not None:
            runs.put(key, project, info.bases, _kept_row(result), reads)
    return result, snapshot.read


def _tree_key(
    source: WorkTreeSource,
    project: str,
    bases: tuple[str, ...],
    envs: Sequence[str] | None,
    paths: Sequence[str],
) -> str | None:
    from qv_config.cache.runs import tree_key

    source.list_files(list(bases))
    # Links and names the file rule refused are findings too (QV111/QV112), yet have no stat.
    refused = tuple(sorted((path, r.code, r.reason) for path, r in source.problems.items()))
    parts = (
        project,
        bases,
        tuple(envs or ()),
        _normalise(paths),
        date.today().isoformat(),
        refused,
    )
    return tree_key(parts, source.walk_stats())


def _reads_unchanged(source: WorkTreeSource, reads: Mapping[str, str]) -> bool:
    """The schema files a kept run read still have its digests (most are in the walked
    folders already, but ``metadata.schema`` may name any file of the repository)."""
    if not reads:
        return True
    schemas = SchemaStore(source.read)
    return all(schemas.digest_of(path) == digest for path, digest in reads.items())


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
    today: date | None = None,
    encrypted: Collection[str] | None = None,
) -> list[Finding]:
    """Findings of already rendered environments, without the result cache: for tools that
    render a state themselves, such as ``qv diff``.

    ``read`` reads the state's files (Config schemas). ``documents_only`` runs the per-document
    stages alone (schema, document rules, secrets), for a set of documents rendered out of a
    whole environment: cross-document rules need all of it (``qv validate`` runs them), and the
    renderer's findings are left to the caller. Secret values stay encrypted: their schema
    constraints are not checked here (``qv validate`` checks them where a key is at hand).
    ``encrypted``: the state's files with a sops: block (``Snapshot.encrypted``), for QV606.
    """
    run = RunState(SchemaStore(read), today=today or date.today())
    run.encrypted = frozenset(encrypted) if encrypted is not None else None
    found: list[Finding] = []
    for env in rendered:
        if documents_only:
            found += (f for doc in env.docs.values() for f in check_document(doc, run)[0])
        else:
            found += check_environment(env, run)
    return sorted(found, key=Finding.sort_key)

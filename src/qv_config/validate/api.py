"""``validate(snapshot, envs, paths)``: the entry point of SPEC §4."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from qv_config.cache.results import Damaged, Documents, EnvMemo, Results
from qv_config.cache.templates import TemplateValues
from qv_config.errors import UsageError
from qv_config.findings import Finding
from qv_config.progress import NO_PROGRESS, Progress
from qv_config.validate.engine import RunState, check_document, check_environment
from qv_config.validate.incremental import EnvPlan, check_env, plan_env
from qv_config.validate.paths import normalise as _normalise
from qv_config.validate.paths import under as _under
from qv_config.validate.plaintexts import Plaintexts
from qv_config.validate.registry import stage_functions
from qv_config.validate.schema import SchemaStore
from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.render.types import RenderedDoc, RenderedEnv
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


def _check_paths(snapshot: Snapshot, prefixes: tuple[str, ...]) -> None:
    """A PATH that matches no file qv validates is a mistake (a typo would otherwise say
    "valid"): a file qv lists but does not check (notes.txt, a document of a folder qv.yaml does
    not declare) is not one."""
    schemas = (path for path in snapshot.digests if path.startswith("schemas/"))
    known = [*_yaml_files(snapshot), *schemas, *(f.file for f in snapshot.findings)]
    for prefix in prefixes:
        if not any(_under(file, (prefix,)) for file in known):
            raise UsageError(
                f"path {prefix!r} matches no file qv validates",
                hint="qv validates qv.yaml, templates/, the YAML files of each environment of"
                " qv.yaml under environments/, schemas/, policy/ and the bases folders of"
                " qv.yaml; check the path",
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
    files |= {path for path in snapshot.digests if path.startswith("policy/")}  # QV7xx
    return files


def policy_documents(listed: Callable[[str], bool], prefixes: tuple[str, ...]) -> int:
    """The approval policy is a document ``qv validate`` checks, in no environment: 1 when
    ``policy/approvals.yaml`` is there (and under ``prefixes``, if any). The path is
    ``approvals.policy.POLICY``, not imported: the approvals package stays out of this run."""
    path = "policy/approvals.yaml"
    return int(listed(path) and (not prefixes or _under(path, prefixes)))


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


@dataclass
class Checked:
    """One run of ``_validate``: its result, the schema files it read (path -> digest), and the
    memo id of each environment it checked (``cache.tree``'s fresh environments)."""

    result: ValidationResult
    reads: dict[str, str]
    rids: dict[str, str]
    documents: dict[str, Documents] = field(default_factory=dict)
    values: dict[str, bytes] = field(default_factory=dict)  # of the documents it rendered
    rendered: set[str] = field(default_factory=set)  # their main paths


def _check_envs(
    snapshot: Snapshot,
    names: tuple[str, ...],
    run: RunState,
    results: Results,
    progress: Progress,
    values: tuple[dict[str, bytes], set[str]],
) -> dict[str, tuple[list[Finding], Documents, str]]:
    """Findings, documents and memo id per environment: from the memo when nothing an
    environment is built from changed, else checked again (rendering only what changed)."""
    shared = _shared_signature(snapshot, run) if results.enabled else ""
    out = {}
    plans = []
    for env in names:
        memo = results.memo(env)
        signature = _env_signature(snapshot, env, shared) if results.enabled else ""
        hit = _hit(memo, signature, run)
        if hit is not None:
            out[env] = hit
        else:
            plans.append((_plan(snapshot, env, run, memo), signature))
    total = sum(len(plan.todo) for plan, _ in plans)
    if total:
        progress.start(f"validating {', '.join(plan.env for plan, _ in plans)}", total)
    counted = _Counted(progress, total)
    run.tick, planned = counted.tick, 0
    try:
        for plan, signature in plans:
            outcome = check_env(snapshot, plan, run)
            outcome.row.signature, outcome.row.schema_reads = signature, run.schemas.reads()
            results.put(plan.env, outcome.row, outcome.documents, outcome.shards, plan.old)
            values[0].update(outcome.values)
            values[1].update(outcome.rendered)
            snapshot.release_values()  # the next environment decodes what it renders
            out[plan.env] = (outcome.findings, outcome.documents, outcome.row.rid)
            planned += len(plan.todo)
            counted.reach(planned)  # what was planned and not rendered (failed) counts as done
    finally:
        if total:
            progress.stop()
    return out


class _Counted:
    """Documents told to ``progress`` one by one as they are checked, never beyond ``total``
    (an environment rendered whole again after a collision checks some twice)."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.shown = progress, total, 0

    def tick(self, amount: int) -> None:
        step = min(amount, self.total - self.shown)
        if step > 0:
            self.shown += step
            self.progress.advance(step)

    def reach(self, count: int) -> None:
        self.tick(count - self.shown)


def _hit(
    memo: EnvMemo, signature: str, run: RunState
) -> tuple[list[Finding], Documents, str] | None:
    """The memo's answer when nothing the environment is built from changed."""
    row = memo.row
    if row is None or not row.signature or row.signature != signature:
        return None
    if not same_digests(run.schemas, row.schema_reads):
        return None
    try:
        documents = memo.documents()
    except Damaged:
        return None
    run.cached += len(documents)
    return row.findings(), documents, row.rid


def remembered_findings(snapshot: Snapshot, env: str) -> list[Finding] | None:
    """What validating ``env`` found, when the memo holds it for exactly these inputs (a
    ``qv validate`` of the same files today); None when it does not. Reads, never writes."""
    results = Results(snapshot.root)
    if not results.enabled or env not in snapshot.environments:
        return None
    run = run_state(snapshot, results, date.today())
    signature = _env_signature(snapshot, env, _shared_signature(snapshot, run))
    hit = _hit(results.memo(env), signature, run)
    return None if hit is None else hit[0]


def _plan(snapshot: Snapshot, env: str, run: RunState, memo: EnvMemo) -> EnvPlan:
    """``plan_env`` against the memo; against none when it is damaged."""
    try:
        return plan_env(snapshot, env, run, memo)
    except Damaged:
        return plan_env(snapshot, env, run)


def same_digests(schemas: SchemaStore, reads: Iterable[tuple[str, str]]) -> bool:
    """The schema files a run read (path, digest) still have the digests it saw."""
    return all(schemas.digest_of(path) == digest for path, digest in reads)


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
    return validate_checked(snapshot, envs, paths, use_cache, progress, today).result


def validate_checked(
    snapshot: Snapshot,
    envs: Sequence[str] | None,
    paths: Sequence[str],
    use_cache: bool,
    progress: Progress,
    today: date | None = None,
    value_of: Callable[[RenderedDoc], bytes] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> Checked:
    """``validate``, and what ``validate.worktree`` keeps of it; with ``value_of``, the value
    of each document it rendered (those the memo answered for were not). ``meanwhile``: done
    once while forked workers render, if they do (``RunState.meanwhile``)."""
    names = select_envs(snapshot, envs)
    prefixes = _normalise(paths)
    _check_paths(snapshot, prefixes)
    results = Results(snapshot.root if use_cache else None)
    run = run_state(snapshot, results, today or date.today())
    run.value_of, run.meanwhile = value_of, meanwhile
    findings: list[Finding] = list(snapshot.findings)
    # Checking allocates many small acyclic objects next to the large live snapshot: the cyclic
    # collector would walk that heap over and over (~0.4 s of a cold run of 10,000 documents).
    enabled = gc.isenabled()
    gc.disable()
    values: tuple[dict[str, bytes], set[str]] = ({}, set())
    try:
        checked = _check_envs(snapshot, names, run, results, progress, values)
    finally:
        if enabled:
            gc.enable()
    for check in stage_functions("files"):  # whole-snapshot rules (secrets: QV602–QV605)
        findings += check(snapshot, names)
    results.save(keep=snapshot.env_names)  # an --env run keeps the others' memos
    run.templates.save()
    for found, _, _ in checked.values():
        findings += found
    documents = {env: docs for env, (_, docs, _) in checked.items()}
    result = _result(snapshot, findings, names, prefixes, documents, run)
    rids = {env: rid for env, (_, _, rid) in checked.items()}
    return Checked(result, dict(run.schemas.reads()), rids, documents, *values)


def run_state(snapshot: Snapshot, results: Results, today: date) -> RunState:
    """What checking shares across environments: schemas, today, qv.yaml's digest (and the keys
    at hand, which decide what encrypted values are checked against), the memos."""
    project = snapshot.project_doc.digest if snapshot.project_doc else ""
    plaintexts = Plaintexts.for_snapshot(snapshot)  # secrets checked decrypted with a key
    if plaintexts is not None:
        project += f"\0keys:{plaintexts.signature}"
    schemas = SchemaStore(snapshot.read)
    run = RunState(schemas, today, project, plaintexts, models_ok=results.models_ok)
    run.encrypted = frozenset(snapshot.encrypted)  # ENC[...] elsewhere is QV606
    run.templates = TemplateValues(results.root if results.enabled else None, project)
    return run


def _result(
    snapshot: Snapshot,
    findings: list[Finding],
    names: tuple[str, ...],
    prefixes: tuple[str, ...],
    documents: Mapping[str, Documents],
    run: RunState,
) -> ValidationResult:
    files = _yaml_files(snapshot)
    if prefixes:
        files = {f for f in files if _under(f, prefixes)}
    policy = policy_documents(snapshot.digests.__contains__, prefixes)
    return assemble(findings, names, prefixes, documents, len(files), run, policy)


def assemble(
    findings: list[Finding],
    names: tuple[str, ...],
    prefixes: tuple[str, ...],
    documents: Mapping[str, Documents],
    files: int,
    run: RunState,
    policy: int = 0,
) -> ValidationResult:
    """The result of a run over environments ``names``: findings deduplicated and sorted,
    those outside ``prefixes`` left out; ``policy``: policy documents checked besides."""
    if prefixes:
        findings = [f for f in findings if _under(f.file, prefixes)]
    unique = sorted(set(findings), key=Finding.sort_key)
    errors = sum(1 for f in unique if f.is_error)
    kinds: set[str] = set()
    for docs in documents.values():
        if not prefixes:
            kinds.update(docs.names)
        else:
            pairs = zip(docs.names, docs.mains, strict=True)
            kinds.update(name for name, main in pairs if _under(main, prefixes))
    stats = ValidationStats(run.validated + run.cached, run.validated, run.cached)
    return ValidationResult(
        tuple(unique), errors, len(unique) - errors, names, files, len(kinds) + policy, stats
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

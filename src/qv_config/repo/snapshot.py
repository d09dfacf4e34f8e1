"""Loading a whole repository state into a ``Snapshot``.

Classification (SPEC §3): files under a ``bases`` folder are base documents; ``templates/X.yaml``
is template ``X``; under ``environments/E/``: ``environment.yaml``, overlays (same relative path as
a base) and documents of E alone. Load errors become findings; loading never stops at the first.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from qv_config.cache.parse import ParseMemo, StatKey
from qv_config.findings import Finding
from qv_config.repo import prefetch as workers
from qv_config.repo.source import Source, content_hash
from qv_config.repo.types import EnvFiles, ProjectInfo, Snapshot
from qv_config.yamlio import Limits, LoadedDoc, YamlError, load_bytes
from qv_config.yamlio.loader import UNSET, LazyDoc, too_large

_YAML_SUFFIXES = (".yaml", ".yml")
_ENV_FILES = ("environment.yaml", "environment.yml")


@dataclass
class _Loader:
    """One load run: where files come from, and what the run has found so far."""

    source: Source
    cache: ParseMemo
    limits: Limits = field(default_factory=Limits)
    findings: list[Finding] = field(default_factory=list)
    encrypted: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    stats: dict[str, StatKey | None] = field(default_factory=dict)  # taken by prefetch
    digests: dict[str, str] = field(default_factory=dict)  # the stat index vouches for these
    prefetched: dict[str, workers.Prefetched] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)  # path -> Git blob id (a revision)

    def load(self, path: str) -> LoadedDoc | None:
        digest, stat = self.digests.pop(path, None), None
        if digest is None and self.blobs:
            digest = self.cache.known_blob(self.blobs.get(path, ""))
        if digest is None:
            stat, digest = (self.stats.pop(path), None) if path in self.stats else self._known(path)
        if digest is not None:  # unchanged since a run that loaded it cleanly (see remember)
            return self._lazy(path, digest)
        early = self.prefetched.pop(path, None)
        if early is not None and (early.blob or early.error or early.missing):
            return self._from_worker(path, early, stat)
        return self._read(path, stat)

    def _read(self, path: str, stat: StatKey | None) -> LoadedDoc | None:
        if stat is not None and stat[1] > self.limits.max_file_bytes:  # not read into memory
            self.findings.append(_finding(too_large(path, stat[1], self.limits)))
            return None
        data = self.source.read(path)
        if data is None:
            return None
        try:
            # Through the memo, which keeps the value encoded: the document can let go of it.
            doc = load_bytes(path, data, limits=self.limits, cache=self.cache)
        except YamlError as err:
            self.findings.append(_finding(err))
            return None
        if _has_sops(doc.data):
            return self._encrypted(doc)
        return self._checked(self._lazy(path, doc.digest, doc.data), stat)

    def _checked(self, doc: LazyDoc, stat: StatKey | None) -> LoadedDoc:
        """A document just read: its stat (or Git blob id) is remembered (never an encrypted
        file's: ``_encrypted``)."""
        if stat is not None:
            self.cache.remember(doc.path, stat, doc.digest)
        elif doc.path in self.blobs:
            self.cache.remember_blob(self.blobs[doc.path], doc.digest)
        return doc

    def _encrypted(self, doc: LoadedDoc) -> LoadedDoc:
        """An encrypted file: its sops block is kept aside for secrets/ (metadata, not config),
        and it stays a whole ``LoadedDoc`` (secrets/ makes decrypted copies of it)."""
        self.encrypted[doc.path] = doc.data
        return replace(doc, data={k: v for k, v in doc.data.items() if k != "sops"})

    def _known(self, path: str) -> tuple[StatKey | None, str | None]:
        """The file's stat (work tree) and its digest when the stat index vouches for it."""
        stat = self.stat(path) if self.stat is not None else None
        return stat, (self.cache.known({path: stat}).get(path) if stat is not None else None)

    def prefetch(self, paths: list[str]) -> None:
        """Parse in worker processes the files the stat index does not vouch for (cold runs)."""
        if self.source.revision is not None or not hasattr(self.source, "stat"):
            return
        walked = getattr(self.source, "walk_stats", None)  # the stats the listing took
        stats = walked() if walked is not None else {}
        if not stats:
            stat = self.source.stat
            stats = {path: stat(path) for path in paths}
        self.stats = stats
        self.digests = self.cache.known(stats)  # the stat index vouches for most, in one call
        # Files over the size limit stay out of the workers: the parent reports them from their
        # stat, without reading them (a worker would read a whole file before checking).
        limit, sizes = self.limits.max_file_bytes, self.stats
        todo = [
            path
            for path in paths
            if path not in self.digests and ((key := sizes.get(path)) is None or key[1] <= limit)
        ]
        if workers.worth_it(todo):
            self.prefetched = workers.prefetch(todo, self.source.read, self.limits)

    def _from_worker(
        self, path: str, early: workers.Prefetched, stat: StatKey | None
    ) -> LoadedDoc | None:
        if early.error is not None:
            code, message, line, col = early.error
            self.findings.append(Finding(code, message, path, line, col))
            return None
        if early.missing:
            return None
        # Kept encoded (a value decoded when first used): a cold load of 50,000 files holds
        # ~30 MB of these instead of ~300 MB of values.
        if early.sops:  # rare: read again in full (a whole document, see _encrypted)
            return self._read(path, stat)
        self.cache.put(early.digest, early.blob)
        return self._checked(self._lazy(path, early.digest), stat)

    def _lazy(self, path: str, digest: str, data: Any = UNSET) -> LazyDoc:
        return LazyDoc(path, digest, self.cache.value, self.source.read, self.limits, data)

    def __post_init__(self) -> None:
        # The work tree's stats: the stat index's key (when caching) and, always, the size
        # checked before a file is read.
        self.stat: Callable[[str], StatKey | None] | None = getattr(self.source, "stat", None)


def _finding(err: YamlError) -> Finding:
    line, col = (err.mark.line, err.mark.col) if err.mark else (0, 0)
    return Finding(err.code, err.detail, err.path, line, col)


def _has_sops(data: Any) -> bool:
    return type(data) is dict and "sops" in data


@dataclass
class _EnvParts:
    main: LoadedDoc | None = None
    documents: dict[str, LoadedDoc] = field(default_factory=dict)
    overlays: dict[str, LoadedDoc] = field(default_factory=dict)


def load_snapshot(
    source: Source, *, use_cache: bool = True, envs: Collection[str] | None = None
) -> Snapshot:
    """Load every qv file of ``source``; a parse memo under ``.qv/cache/`` makes reloads cheap.

    ``envs`` loads only the folders of those environments under ``environments/`` (``qv sync``
    of one environment reads nothing of the others); the snapshot then holds only those."""
    cache = ParseMemo(source.root if use_cache else None)
    # Loading builds ~10 small acyclic containers per file: the cyclic collector would walk the
    # growing heap again and again for nothing (~0.1 s of a cold load of 10,000 files).
    enabled = gc.isenabled()
    gc.disable()
    try:
        snapshot = _load_all(_Loader(source, cache), envs)
    finally:
        if enabled:
            gc.enable()
    cache.save()
    return snapshot


def _load_all(loader: _Loader, envs: Collection[str] | None) -> Snapshot:
    project, project_doc, model = _project(loader)
    loader.limits = _yaml_limits(project)
    loader.cache.settings = repr(loader.limits)
    bases = list(project.bases) if project else ["strategies"]
    files = loader.source.list_files(bases)
    if envs is not None:
        files = {path: blob for path, blob in files.items() if _in_envs(path, envs)}
    if loader.source.revision is not None:
        loader.blobs = files  # Git's blob ids: a blob parsed before is not even read
    loader.cache.complete = envs is None and loader.source.revision is None
    base_prefixes = tuple(f"{b}/" for b in bases)
    loader.prefetch([p for p in files if p.endswith(_YAML_SUFFIXES) and "/" in p])
    templates: dict[str, LoadedDoc] = {}
    base_docs: dict[str, LoadedDoc] = {}
    parts: dict[str, _EnvParts] = {}
    for path in sorted(files):
        if not path.endswith(_YAML_SUFFIXES) or path == "qv.yaml":
            continue
        if path.startswith("templates/"):
            if (doc := loader.load(path)) is not None:
                templates[path[len("templates/") : path.rfind(".")]] = doc
        elif path.startswith(base_prefixes):
            if (doc := loader.load(path)) is not None:
                base_docs[path] = doc
        elif path.startswith("environments/"):
            _classify_env(loader, path, parts, base_prefixes)
    source = loader.source
    # Links and names the rule refused (QV111, QV112): named, never read.
    loader.findings += [refused.finding() for refused in source.problems.values()]
    snapshot = Snapshot(
        root=source.root,
        label=source.label,
        revision=source.revision,
        project_info=project,
        project_doc=project_doc,
        templates=templates,
        bases=base_docs,
        environments=_env_files(project, parts, loader.findings, envs),
        findings=tuple(loader.findings),
        digests=dict(files),
        read=source.read,
        encrypted=loader.encrypted,
    )
    if model is not None:  # built while loading: spare the first use a second validation
        snapshot.__dict__["project"] = model
    return snapshot


def _yaml_limits(project: ProjectInfo | None) -> Limits:
    """The bounds of loading (rendering has its own: render.bounds)."""
    names = ("max_file_bytes", "max_alias_nodes")
    given = project.limits if project else {}
    return Limits(**{name: int(given[name]) for name in names if name in given})


def _project(loader: _Loader) -> tuple[ProjectInfo | None, LoadedDoc | None, Any]:
    """qv.yaml's info, its document, and its model when this run had to build one."""
    doc = loader.load("qv.yaml")
    if doc is None:
        if not loader.findings and "qv.yaml" not in loader.source.problems:
            loader.findings.append(Finding("QV205", "qv.yaml is missing", "qv.yaml"))
        return None, None, None
    # Keyed by content digest in the parse memo, whose records are bound to the qv version: these
    # exact bytes were validated by this qv before.
    key = f"project-info:{doc.digest}"
    known = loader.cache.value(key)
    if type(known) is list and len(known) == 3:
        return ProjectInfo(tuple(known[0]), tuple(known[1]), dict(known[2])), doc, None
    model = _validate_project(loader, doc)
    if model is None:
        return None, doc, None
    spec = model.spec
    limits = {k: v for k, v in spec.limits.model_dump().items() if v is not None}
    info = ProjectInfo(tuple(spec.environments), tuple(spec.bases), limits)
    loader.cache.put_value(key, [list(info.environments), list(info.bases), limits])
    return info, doc, model


def _validate_project(loader: _Loader, doc: LoadedDoc) -> Any:
    from pydantic import ValidationError

    from qv_config.models import Project

    try:
        return Project.model_validate(doc.data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = f"qv.yaml is invalid at {where}: {first['msg']}"
        loader.findings.append(Finding("QV205", message, "qv.yaml", 1, 1))
        return None


def _classify_env(
    loader: _Loader, path: str, parts: dict[str, _EnvParts], base_prefixes: tuple[str, ...]
) -> None:
    pieces = path.split("/", 2)
    if len(pieces) < 3:
        return
    env, rel = pieces[1], pieces[2]
    slot = parts.get(env)
    if slot is None:  # not setdefault: that would build an _EnvParts for every file
        slot = parts[env] = _EnvParts()
    doc = loader.load(path)
    if doc is None:
        return
    if rel in _ENV_FILES:
        slot.main = doc
    elif rel.startswith(base_prefixes):
        slot.overlays[rel] = doc
    else:
        slot.documents[path] = doc


def _in_envs(path: str, envs: Collection[str]) -> bool:
    if not path.startswith("environments/"):
        return True
    return path.split("/", 2)[1] in envs


def _env_files(
    project: ProjectInfo | None,
    parts: dict[str, _EnvParts],
    findings: list[Finding],
    envs: Collection[str] | None,
) -> dict[str, EnvFiles]:
    declared = list(project.environments) if project else sorted(parts)
    if envs is not None:
        declared = [env for env in declared if env in envs]
    out: dict[str, EnvFiles] = {}
    for env in declared:
        slot = parts.get(env, _EnvParts())
        broken = any(f.file.startswith(f"environments/{env}/environment.") for f in findings)
        if slot.main is None and not broken:
            message = f"environment {env!r} has no environments/{env}/environment.yaml"
            findings.append(
                Finding("QV204", message, f"environments/{env}/environment.yaml", env=env)
            )
        out[env] = EnvFiles(env, slot.main, slot.documents, slot.overlays)
    for env in sorted(set(parts) - set(declared)):
        message = (
            f"folder environments/{env}/ is not an environment of qv.yaml "
            f"(declared: {', '.join(declared)}); add it to spec.environments or remove it"
        )
        findings.append(Finding("QV204", message, f"environments/{env}", env=env))
    return out


__all__ = ["content_hash", "load_snapshot"]

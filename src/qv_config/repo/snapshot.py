"""Loading a whole repository state into a ``Snapshot``.

Classification (SPEC §3): files under a ``bases`` folder are base documents; ``templates/X.yaml``
is template ``X``; under ``environments/E/``: ``environment.yaml``, overlays (same relative path as
a base) and documents of E alone. Load errors become findings; loading never stops at the first.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from qv_config.cache.parse import ParseMemo
from qv_config.cache.tree import Tree
from qv_config.findings import Finding
from qv_config.repo import prefetch as workers
from qv_config.repo.manifest import Manifest, read_manifest, yaml_limits
from qv_config.repo.source import Source, StatKey, WorkTreeSource, content_hash
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
    tree: Tree | None = None  # the work tree's last listing (None: a revision, or no cache)
    limits: Limits = field(default_factory=Limits)
    findings: list[Finding] = field(default_factory=list)
    encrypted: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    prefetched: workers.Prefetched = field(default_factory=workers.Prefetched.none)
    blobs: dict[str, str] = field(default_factory=dict)  # path -> Git blob id (a revision)
    sizes: Mapping[str, StatKey] = field(default_factory=dict)  # the walk's, when taken
    blob_data: dict[str, bytes] = field(default_factory=dict)  # a revision's, read at once
    vouched: dict[str, str] | None = None  # path -> digest the work tree's stats vouch for
    meanwhile: Callable[[], None] | None = None  # done while workers parse (``load_snapshot``)

    def __post_init__(self) -> None:
        # What each LazyDoc reads with: bound once, not twice per document (20,000 at a time).
        self._read_file = self.source.read
        self.use(self.limits)  # qv.yaml loads under the default limits (then under its own)

    def use(self, limits: Limits) -> None:
        """Load under ``limits`` from now on: values are kept and found under them (a document
        made now reads its value under them, whatever the limits when it is used)."""
        self.limits = limits
        self.cache.settings = repr(limits)
        self._value = self.cache.reader()

    def load(self, path: str) -> LoadedDoc | None:
        digest = self.known(path)
        if digest is not None:  # unchanged since a run that loaded it cleanly
            return self._lazy(path, digest)
        parsed = self.prefetched.parsed.pop(path, None)
        if parsed is not None:  # kept encoded (decoded when first used): ~30 MB, not ~300 MB
            self.cache.put(*parsed)
            return self._checked(self._lazy(path, parsed[0]))
        failed = self.prefetched.failed.pop(path, None)
        if failed is not None:
            self._failed(path, *failed)
            return None
        return self._read(path)

    def known(self, path: str) -> str | None:
        """The digest of ``path`` when a kept value vouched for by its Git blob id or its stat
        (``cache.tree``) is at hand."""
        if self.vouched is not None:  # asked at once (``prefetch``)
            return self.vouched.get(path)
        if self.blobs:
            return self.cache.known_blob(self.blobs.get(path, ""))
        digest = self.tree.vouched(path, self.cache.settings) if self.tree is not None else ""
        return digest if digest and self.cache.has(digest) else None

    def _read(self, path: str) -> LoadedDoc | None:
        size = self._size(path)
        if size is not None and size > self.limits.max_file_bytes:  # not read into memory
            self.findings.append(_finding(too_large(path, size, self.limits)))
            self._read_as(path, content_hash(f"too large: {size}".encode()), False)
            return None
        data = self.blob_data.pop(path, None) or self.source.read(path)
        if data is None:
            return None
        try:
            # Through the memo, which keeps the value encoded: the document can let go of it.
            doc = load_bytes(path, data, limits=self.limits, cache=self.cache)
        except YamlError as err:
            self.findings.append(_finding(err))
            self._read_as(path, content_hash(data), False)
            return None
        if _has_sops(doc.data):
            return self._encrypted(doc)
        return self._checked(self._lazy(path, doc.digest, doc.data))

    def _size(self, path: str) -> int | None:
        stat = self.sizes.get(path)
        if stat is None and isinstance(self.source, WorkTreeSource):
            stat = self.source.stat(path)
        return stat[1] if stat is not None else None

    def _checked(self, doc: LazyDoc) -> LoadedDoc:
        """A document just read and loaded cleanly: its stat (or Git blob id) may vouch for it
        next time (never an encrypted file's: ``_encrypted``)."""
        if doc.path in self.blobs:
            self.cache.remember_blob(self.blobs[doc.path], doc.digest)
        else:
            self._read_as(doc.path, doc.digest, True)
        return doc

    def _encrypted(self, doc: LoadedDoc) -> LoadedDoc:
        """An encrypted file: its sops block is kept aside for secrets/ (metadata, not config),
        and it stays a whole ``LoadedDoc`` (secrets/ makes decrypted copies of it)."""
        self.encrypted[doc.path] = doc.data
        self._read_as(doc.path, doc.digest, False)
        return replace(doc, data={k: v for k, v in doc.data.items() if k != "sops"})

    def prefetch(self, paths: list[str]) -> None:
        """Read and parse in worker processes the files no kept value vouches for (cold runs);
        a revision's blobs are asked of Git all at once either way."""
        if self.tree is not None:  # one pass for the thousands of files a run does not read
            found = self.tree.vouched_many(paths, self.cache.settings)
            self.vouched = self.cache.kept(found)
        elif self.blobs:
            blobs = self.blobs
            self.vouched = self.cache.known_blobs({path: blobs.get(path, "") for path in paths})
        todo = [path for path in paths if self.known(path) is None]
        source = self.source
        if isinstance(source, WorkTreeSource):
            if not workers.worth_it(todo):
                return
            # Files over the size limit stay out of the workers: the parent reports them from
            # their stat, without reading them (a worker would read a whole file first).
            self.sizes = sizes = source.walk_stats()
            limit = self.limits.max_file_bytes
            todo = [path for path in todo if (key := sizes.get(path)) is None or key[1] <= limit]
            read = partial(_read_each, source)
            self.prefetched = workers.prefetch(todo, read, self.limits, self.meanwhile)
            return
        read_many = getattr(source, "read_many", None)
        if read_many is None or not todo:
            return
        if workers.worth_it(todo):  # each worker asks its own ``git cat-file``
            read = partial(read_many, apart=True)
            self.prefetched = workers.prefetch(todo, read, self.limits, self.meanwhile)
        else:
            self.blob_data = read_many(todo)

    def _failed(self, path: str, digest: str, error: workers.Failed) -> None:
        """A file a worker could not load: its finding."""
        code, message, line, col = error
        self.findings.append(Finding(code, message, path, line, col))
        self._read_as(path, digest, False)

    def _read_as(self, path: str, digest: str, vouches: bool) -> None:
        """Tell the tree what a file read this run holds (``vouches``: its stat may vouch for it
        next time: it loaded cleanly and is not encrypted)."""
        if self.tree is not None:
            self.tree.reads[path] = (digest, vouches)

    def _lazy(self, path: str, digest: str, data: Any = UNSET) -> LazyDoc:
        return LazyDoc(path, digest, self._value, self._read_file, self.limits, data)


def _read_each(source: Source, paths: list[str]) -> dict[str, bytes | None]:
    return {path: source.read(path) for path in paths}


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
    source: Source,
    *,
    use_cache: bool = True,
    envs: Collection[str] | None = None,
    tree: Tree | None = None,
    only: Collection[str] | None = None,
    meanwhile: Callable[[], None] | None = None,
    memo: ParseMemo | None = None,
) -> Snapshot:
    """Load every qv file of ``source``; memos under ``.qv/cache/`` make reloads cheap.

    ``envs`` loads only the folders of those environments under ``environments/`` (``qv sync``
    of one environment reads nothing of the others); the snapshot then holds only those.

    ``tree``: the work tree's last listing, already compared with this run's by the caller,
    who saves it (``validate.worktree``); without it a work-tree load keeps its own. ``only``
    loads just those of the listed files (besides qv.yaml): structure findings (QV204) of such
    a snapshot are not the tree's, the caller has them. ``meanwhile`` is called once while
    forked workers parse files (a cold load of thousands), if they do: the caller's own work
    (``qv sync``: preparing the render) done on this process's core meanwhile. ``memo``: the
    parse memo, saved by the caller (until then the values of a cold load stay in memory; else
    it is saved here, and they are read back from its file when used)."""
    cache = memo if memo is not None else ParseMemo(source.root if use_cache else None)
    own = tree is None and use_cache and isinstance(source, WorkTreeSource)
    if own:
        tree = Tree(source.root)
    # Loading builds ~10 small acyclic containers per file: the cyclic collector would walk the
    # growing heap again and again for nothing (~0.1 s of a cold load of 10,000 files).
    enabled = gc.isenabled()
    gc.disable()
    try:
        loader = _Loader(source, cache, tree if tree is not None and tree.enabled else None)
        loader.meanwhile = meanwhile
        snapshot = _load_all(loader, envs, only)
    finally:
        if enabled:
            gc.enable()
    if memo is None:
        cache.save()
    if own and tree is not None:
        tree.save(cache.settings)
    return snapshot


def _load_all(
    loader: _Loader,
    envs: Collection[str] | None,
    only: Collection[str] | None,
    manifest: Manifest | None = None,
) -> Snapshot:
    if manifest is None:
        manifest = read_manifest(_project_doc(loader), loader.findings, loader.cache)
    loading = manifest.loading()
    if not manifest.settled:  # validated while the workers parse, or after them
        settle = partial(manifest.settle, loader.findings, loader.cache)
        loader.meanwhile = workers.both(settle, loader.meanwhile)
    bases = list(loading[0])
    loader.use(loading[1])
    project_doc = manifest.doc
    files = loader.source.list_files(bases)
    tree = loader.tree
    if tree is not None and isinstance(loader.source, WorkTreeSource):
        listing = loader.source.listing()
        if tree.listing is None or tree.listing[0] is not listing[0]:  # not compared yet
            tree.compare(listing, loader.source.index)
        tree.project, tree.bases = (project_doc.digest if project_doc else ""), bases
    if envs is not None:
        files = _in_envs(files, envs)
    if loader.source.revision is not None:
        loader.blobs = files  # Git's blob ids: a blob parsed before is not even read
    loader.cache.complete = envs is None and only is None and loader.source.revision is None
    chosen = files if only is None else [path for path in only if path in files]
    base_prefixes = tuple(f"{b}/" for b in bases)
    loader.prefetch([p for p in chosen if p.endswith(_YAML_SUFFIXES) and "/" in p])
    manifest.settle(loader.findings, loader.cache)
    if manifest.loading() != loading:  # an invalid qv.yaml: the defaults, not its raw value
        loader.prefetched = workers.Prefetched.none()
        return _load_all(loader, envs, only, manifest)
    project, model = manifest.info, manifest.model
    templates: dict[str, LoadedDoc] = {}
    base_docs: dict[str, LoadedDoc] = {}
    parts: dict[str, _EnvParts] = {}
    for path in sorted(chosen):
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


def yaml_settings(project: ProjectInfo | None) -> str:
    """The YAML limits of ``project`` as the caches compare them."""
    return repr(yaml_limits(project))


def _project_doc(loader: _Loader) -> LoadedDoc | None:
    doc = loader.load("qv.yaml")
    if doc is None and not loader.findings and "qv.yaml" not in loader.source.problems:
        loader.findings.append(Finding("QV205", "qv.yaml is missing", "qv.yaml"))
    return doc


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


def _in_envs(files: dict[str, str], envs: Collection[str]) -> dict[str, str]:
    """The files outside ``environments/`` and those of ``envs``' folders (``environments/E``
    itself or under it). Prefix tests in one comprehension, not a call per file (50,000)."""
    inside = tuple(f"environments/{env}/" for env in envs)
    named = {f"environments/{env}" for env in envs}
    return {
        path: blob
        for path, blob in files.items()
        if not path.startswith("environments/") or path.startswith(inside) or path in named
    }


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

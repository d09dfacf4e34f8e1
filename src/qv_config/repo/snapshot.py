"""Loading a whole repository state into a ``Snapshot``.

Classification (SPEC §3): files under a ``bases`` folder are base documents; ``templates/X.yaml``
is template ``X``; under ``environments/E/``: ``environment.yaml``, overlays (same relative path as
a base) and documents of E alone. Load errors become findings; loading never stops at the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from qv_config.findings import Finding
from qv_config.repo.parsecache import ParseCache
from qv_config.repo.source import Source, content_hash
from qv_config.repo.types import EnvFiles, Snapshot
from qv_config.yamlio import Limits, LoadedDoc, YamlError, load_bytes

_YAML_SUFFIXES = (".yaml", ".yml")
_ENV_FILES = ("environment.yaml", "environment.yml")


@dataclass
class _Loader:
    """One load run: where files come from, and what the run has found so far."""

    source: Source
    cache: ParseCache
    limits: Limits = field(default_factory=Limits)
    findings: list[Finding] = field(default_factory=list)
    encrypted: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def load(self, path: str) -> LoadedDoc | None:
        data = self.source.read(path)
        if data is None:
            return None
        try:
            doc = load_bytes(path, data, limits=self.limits, cache=self.cache)
        except YamlError as err:
            line, col = (err.mark.line, err.mark.col) if err.mark else (0, 0)
            self.findings.append(Finding(err.code, err.detail, path, line, col))
            return None
        return self._strip_sops(doc)

    def _strip_sops(self, doc: LoadedDoc) -> LoadedDoc:
        # The sops block is metadata of the file, not configuration: kept aside for secrets/.
        data = doc.data
        if type(data) is not dict or "sops" not in data:
            return doc
        self.encrypted[doc.path] = data
        return replace(doc, data={k: v for k, v in data.items() if k != "sops"})


@dataclass
class _EnvParts:
    main: LoadedDoc | None = None
    documents: dict[str, LoadedDoc] = field(default_factory=dict)
    overlays: dict[str, LoadedDoc] = field(default_factory=dict)


def load_snapshot(source: Source, *, use_cache: bool = True) -> Snapshot:
    """Load every qv file of ``source``; a parse cache under ``.qv/cache/`` makes reloads cheap."""
    cache = ParseCache(source.root / ".qv" / "cache" / "parse.bin" if use_cache else None)
    snapshot = _load_all(_Loader(source, cache))
    cache.save()
    return snapshot


def _load_all(loader: _Loader) -> Snapshot:
    project, project_doc = _project(loader)
    loader.limits = _limits(project)
    bases = list(project.spec.bases) if project else ["strategies"]
    files = loader.source.list_files(bases)
    base_prefixes = tuple(f"{b}/" for b in bases)
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
    return Snapshot(
        root=source.root,
        label=source.label,
        revision=source.revision,
        project=project,
        project_doc=project_doc,
        templates=templates,
        bases=base_docs,
        environments=_env_files(project, parts, loader.findings),
        findings=tuple(loader.findings),
        digests=dict(files),
        read=source.read,
        encrypted=loader.encrypted,
    )


def _project(loader: _Loader) -> tuple[Any, LoadedDoc | None]:
    from pydantic import ValidationError

    from qv_config.models import Project

    doc = loader.load("qv.yaml")
    if doc is None:
        if not loader.findings:
            loader.findings.append(Finding("QV205", "qv.yaml is missing", "qv.yaml"))
        return None, None
    try:
        return Project.model_validate(doc.data), doc
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = f"qv.yaml is invalid at {where}: {first['msg']}"
        loader.findings.append(Finding("QV205", message, "qv.yaml", 1, 1))
        return None, doc


def _limits(project: Any) -> Limits:
    raw: Any = getattr(getattr(project, "spec", None), "limits", None) or {}
    if not isinstance(raw, Mapping):
        raw = raw.model_dump() if hasattr(raw, "model_dump") else {}
    return Limits(**{k: v for k, v in raw.items() if v is not None})


def _classify_env(
    loader: _Loader, path: str, parts: dict[str, _EnvParts], base_prefixes: tuple[str, ...]
) -> None:
    pieces = path.split("/", 2)
    if len(pieces) < 3:
        return
    env, rel = pieces[1], pieces[2]
    slot = parts.setdefault(env, _EnvParts())
    doc = loader.load(path)
    if doc is None:
        return
    if rel in _ENV_FILES:
        slot.main = doc
    elif rel.startswith(base_prefixes):
        slot.overlays[rel] = doc
    else:
        slot.documents[path] = doc


def _env_files(
    project: Any, parts: dict[str, _EnvParts], findings: list[Finding]
) -> dict[str, EnvFiles]:
    declared = list(project.spec.environments) if project else sorted(parts)
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

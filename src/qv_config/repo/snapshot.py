"""Loading a whole repository state into a ``Snapshot``.

Classification (SPEC §3): files under a ``bases`` folder are base documents; ``templates/X.yaml``
is template ``X``; under ``environments/E/``: ``environment.yaml``, overlays (same relative path as
a base) and documents of E alone. Load errors become findings; loading never stops at the first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qv_config.findings import Finding
from qv_config.repo.parsecache import ParseCache
from qv_config.repo.source import Source, content_hash
from qv_config.repo.types import EnvFiles, Snapshot
from qv_config.yamlio import Limits, LoadedDoc, YamlError, load_bytes

_YAML_SUFFIXES = (".yaml", ".yml")


def _is_yaml(path: str) -> bool:
    return path.endswith(_YAML_SUFFIXES)


def _load(
    source: Source,
    path: str,
    limits: Limits,
    findings: list[Finding],
    cache: ParseCache | None = None,
) -> LoadedDoc | None:
    data = source.read(path)
    if data is None:
        return None
    try:
        return load_bytes(path, data, limits=limits, cache=cache)
    except YamlError as err:
        mark = err.mark
        findings.append(
            Finding(err.code, err.detail, path, mark.line if mark else 0, mark.col if mark else 0)
        )
        return None


def _project(source: Source, findings: list[Finding]) -> tuple[Any, LoadedDoc | None]:
    from pydantic import ValidationError

    from qv_config.models import Project

    doc = _load(source, "qv.yaml", Limits(), findings)
    if doc is None:
        if not findings:
            findings.append(Finding("QV205", "qv.yaml is missing", "qv.yaml"))
        return None, None
    try:
        return Project.model_validate(doc.data), doc
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        findings.append(
            Finding("QV205", f"qv.yaml is invalid at {where}: {first['msg']}", "qv.yaml", 1, 1)
        )
        return None, doc


def _limits(project: Any) -> Limits:
    raw: Mapping[str, int] = getattr(getattr(project, "spec", None), "limits", None) or {}
    if not isinstance(raw, Mapping):
        raw = raw.model_dump() if hasattr(raw, "model_dump") else {}
    return Limits(**{k: v for k, v in raw.items() if v is not None})


def load_snapshot(source: Source, *, use_cache: bool = True) -> Snapshot:
    """Load every qv file of ``source``; a parse cache under ``.qv/cache/`` makes reloads cheap."""
    cache = ParseCache(source.root / ".qv" / "cache" / "parse.bin" if use_cache else None)
    snapshot = _load_all(source, cache)
    cache.save()
    return snapshot


def _load_all(source: Source, cache: ParseCache) -> Snapshot:
    findings: list[Finding] = []
    project, project_doc = _project(source, findings)
    bases = list(project.spec.bases) if project else ["strategies"]
    files = source.list_files(bases)
    limits = _limits(project)
    templates: dict[str, LoadedDoc] = {}
    base_docs: dict[str, LoadedDoc] = {}
    env_parts: dict[str, dict[str, dict[str, LoadedDoc]]] = {}
    env_main: dict[str, LoadedDoc | None] = {}
    base_prefixes = tuple(f"{b}/" for b in bases)
    for path in sorted(files):
        if not _is_yaml(path) or path == "qv.yaml":
            continue
        if path.startswith("templates/"):
            doc = _load(source, path, limits, findings, cache)
            if doc is not None:
                templates[path[len("templates/") : path.rfind(".")]] = doc
        elif path.startswith(base_prefixes):
            doc = _load(source, path, limits, findings, cache)
            if doc is not None:
                base_docs[path] = doc
        elif path.startswith("environments/"):
            _classify_env(source, path, limits, findings, env_parts, env_main, base_prefixes, cache)
    envs = _env_files(project, env_parts, env_main, findings)
    digests = dict(files)
    return Snapshot(
        root=source.root,
        label=source.label,
        revision=source.revision,
        project=project,
        project_doc=project_doc,
        templates=templates,
        bases=base_docs,
        environments=envs,
        findings=tuple(findings),
        digests=digests,
        read=source.read,
    )


def _classify_env(
    source: Source,
    path: str,
    limits: Limits,
    findings: list[Finding],
    env_parts: dict[str, dict[str, dict[str, LoadedDoc]]],
    env_main: dict[str, LoadedDoc | None],
    base_prefixes: tuple[str, ...],
    cache: ParseCache,
) -> None:
    parts = path.split("/", 2)
    if len(parts) < 3:
        return
    env, rel = parts[1], parts[2]
    slots = env_parts.setdefault(env, {"documents": {}, "overlays": {}})
    env_main.setdefault(env, None)
    doc = _load(source, path, limits, findings, cache)
    if doc is None:
        return
    if rel in ("environment.yaml", "environment.yml"):
        env_main[env] = doc
    elif rel.startswith(base_prefixes):
        slots["overlays"][rel] = doc
    else:
        slots["documents"][path] = doc


def _env_files(
    project: Any,
    env_parts: dict[str, dict[str, dict[str, LoadedDoc]]],
    env_main: dict[str, LoadedDoc | None],
    findings: list[Finding],
) -> dict[str, EnvFiles]:
    declared = list(project.spec.environments) if project else sorted(env_parts)
    out: dict[str, EnvFiles] = {}
    for env in declared:
        parts = env_parts.get(env, {"documents": {}, "overlays": {}})
        main = env_main.get(env)
        if main is None and not any(
            f.file.startswith(f"environments/{env}/environment.") for f in findings
        ):
            findings.append(
                Finding(
                    "QV204",
                    f"environment {env!r} has no environments/{env}/environment.yaml",
                    f"environments/{env}/environment.yaml",
                    env=env,
                )
            )
        out[env] = EnvFiles(env, main, parts["documents"], parts["overlays"])
    for env in sorted(set(env_parts) - set(declared)):
        findings.append(
            Finding(
                "QV204",
                f"folder environments/{env}/ is not an environment of qv.yaml "
                f"(declared: {', '.join(declared)}); add it to spec.environments or remove it",
                f"environments/{env}",
                env=env,
            )
        )
    return out


__all__ = ["content_hash", "load_snapshot"]

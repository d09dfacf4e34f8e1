"""Snapshot: every file of a configuration repository at one state (work tree or revision)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qv_config.findings import Finding
from qv_config.yamlio import LoadedDoc

if TYPE_CHECKING:
    from qv_config.models import Project


@dataclass(frozen=True)
class EnvFiles:
    """The files of one environment folder ``environments/<name>/``."""

    name: str
    environment: LoadedDoc | None  # environments/<name>/environment.yaml (None: missing/broken)
    documents: Mapping[str, LoadedDoc]  # repo path -> document of this environment alone
    overlays: Mapping[str, LoadedDoc]  # *base* repo path (e.g. "strategies/x.yaml") -> overlay


@dataclass(frozen=True)
class ProjectInfo:
    """What loading and validating need from a valid ``qv.yaml``.

    Read from the parse cache when an earlier run of this qv validated the same bytes, so a warm
    run never builds the pydantic model (importing pydantic and the models costs ~0.1 s)."""

    environments: tuple[str, ...]
    bases: tuple[str, ...]
    limits: Mapping[str, float]  # only the bounds qv.yaml sets (max_file_bytes, max_render_...)


@dataclass(frozen=True)
class Snapshot:
    """A loaded repository state. Files that failed to load are absent and reported in findings."""

    root: Path  # work-tree root (also for a Git revision: the repository it was read from)
    label: str  # "work tree" or "<rev> (<short sha>)" — used in messages
    revision: str | None  # full commit sha when read from Git, else None
    project_info: ProjectInfo | None  # valid qv.yaml (None when missing or invalid: see findings)
    project_doc: LoadedDoc | None
    templates: Mapping[str, LoadedDoc]  # template name ("strategy/base") -> doc
    bases: Mapping[str, LoadedDoc]  # repo path ("strategies/momentum-eu.yaml") -> doc
    environments: Mapping[str, EnvFiles]  # in qv.yaml order, plus unknown folders (flagged QV204)
    findings: tuple[Finding, ...]  # load problems (QV1xx, QV204, QV205)
    digests: Mapping[str, str]  # repo path -> content hash, for every file listed
    read: Callable[[str], bytes | None] = field(repr=False, compare=False)
    """Read any other file of the same state (e.g. schemas/configs/*.json); None if absent."""
    encrypted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    """SOPS-encrypted files: repo path -> the file's whole value *with* its ``sops`` block.

    The ``sops`` block is not part of the qv envelope, so the documents in this snapshot hold the
    file's value without it (ciphertext values stay in place); decryption, MAC and recipient
    checks start from here (``qv_config.secrets``)."""

    @property
    def env_names(self) -> list[str]:
        info = self.project_info
        return list(info.environments) if info else list(self.environments)

    def release_values(self) -> None:
        """Let go of the decoded values of base and environment documents (each is decoded
        again from its kept encoding when next used): a run over 50,000 documents holds one
        environment's values at a time. Templates stay (every environment merges them)."""
        from qv_config.yamlio.loader import release

        release(*self.bases.values())
        for files in self.environments.values():
            release(files.environment, *files.documents.values(), *files.overlays.values())

    @cached_property
    def project(self) -> Project | None:
        """The ``qv.yaml`` model, built on first use (the loader seeds it when it built one)."""
        if self.project_info is None or self.project_doc is None:
            return None
        from qv_config.models import Project

        return Project.model_validate(self.project_doc.data)

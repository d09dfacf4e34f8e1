"""``qv.yaml``: the project manifest (docs/format.md, "Project")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from qv_config.models.common import Document, QvModel


class ProjectLimits(QvModel):
    """YAML safety bounds; ``None`` keeps the loader's default (repo.snapshot drops them)."""

    max_file_bytes: Annotated[int, Field(gt=0)] | None = None
    max_alias_nodes: Annotated[int, Field(ge=0)] | None = None


class ProjectSpec(QvModel):
    environments: Annotated[list[str], Field(min_length=1, description="also the promotion order")]
    bases: list[str] = Field(default=["strategies"])
    store: str = "sqlite:.qv/state.db"
    env_specific: list[str] = Field(default=[])
    limits: ProjectLimits = Field(default=ProjectLimits())


class Project(Document):
    kind: Literal["Project"]
    spec: ProjectSpec

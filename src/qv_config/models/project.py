"""``qv.yaml``: the project manifest (docs/format.md, "Project")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from qv_config.models.common import Document, Name, QvModel


class ProjectLimits(QvModel):
    """Safety bounds; ``None`` keeps qv's default (repo.snapshot drops them)."""

    max_file_bytes: Annotated[int, Field(gt=0)] | None = None
    max_alias_nodes: Annotated[int, Field(ge=0)] | None = None
    max_render_seconds: (
        Annotated[
            float,
            Field(gt=0, le=600, description="time to template one document (default 1 s)"),
        ]
        | None
    ) = None
    max_render_bytes: (
        Annotated[
            int,
            Field(gt=0, description="size of one rendered document or template value (1 MiB)"),
        ]
        | None
    ) = None


class ProjectSpec(QvModel):
    # Named like documents: each is its Environment document's metadata.name (and qv names.NAME).
    environments: Annotated[list[Name], Field(min_length=1, description="also the promotion order")]
    bases: list[str] = Field(default=["strategies"])
    store: str = "sqlite:.qv/state.db"
    env_specific: list[str] = Field(default=[])
    limits: ProjectLimits = Field(default=ProjectLimits())


class Project(Document):
    kind: Literal["Project"]
    spec: ProjectSpec

"""``qv.yaml``: the project manifest (docs/format.md, "Project")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag

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


# A field path of ``env_specific``: dotted keys, ``*`` for any one key or list item
# (``spec.venues.*.host``). A path also covers everything under it.
FieldPattern = Annotated[
    str,
    Field(
        pattern=r"^(\*|[^.*\s]+)(\.(\*|[^.*\s]+))*$",
        description="dotted field path; * matches any one key or list item",
    ),
]
KindOrAll = Literal[
    "*", "Config", "Flag", "Strategy", "RiskPolicy", "ExecutionPolicy", "Environment"
]


def _shape(value: object) -> str:
    """Which form of ``env_specific`` to check ``value`` as (errors then name only that one)."""
    return "per-kind" if isinstance(value, dict) else "list"


EnvSpecificSetting = Annotated[
    Annotated[list[FieldPattern], Tag("list")]
    | Annotated[dict[KindOrAll, list[FieldPattern]], Tag("per-kind")],
    Discriminator(_shape),
]


class ProjectSpec(QvModel):
    # Named like documents: each is its Environment document's metadata.name (and qv names.NAME).
    environments: Annotated[list[Name], Field(min_length=1, description="also the promotion order")]
    bases: list[str] = Field(default=["strategies"])
    store: str = "sqlite:.qv/state.db"
    env_specific: EnvSpecificSetting = Field(
        default=[],
        description=(
            "field paths promotion never copies and `qv diff` between environments leaves out:"
            " a list (every kind), or a mapping kind -> list, '*' for every kind"
        ),
    )
    limits: ProjectLimits = Field(default=ProjectLimits())


class Project(Document):
    kind: Literal["Project"]
    spec: ProjectSpec

"""Config: the settings of one service; ``spec`` is free-form, checked by its service schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from qv_config.models.common import Document, Metadata


class ConfigMetadata(Metadata):
    schema_path: str | None = Field(
        default=None,
        alias="schema",
        description="explicit service schema path (default schemas/configs/<name>.schema.json)",
    )


class Config(Document):
    kind: Literal["Config"]
    metadata: ConfigMetadata
    spec: dict[str, Any]

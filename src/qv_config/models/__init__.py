"""pydantic models of every kind (SPEC §2, docs/format.md). INTERIM stub: owner replaces it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProjectSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    environments: list[str]
    bases: list[str] = ["strategies"]
    store: str = "sqlite:.qv/state.db"
    env_specific: list[str] = []
    limits: dict[str, int] = {}


class Project(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    apiVersion: str
    kind: str
    metadata: dict[str, Any]
    spec: ProjectSpec

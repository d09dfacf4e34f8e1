"""Environment: ``environments/<env>/environment.yaml``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from qv_config.models.common import Amount, Document, Lifecycle, QvModel, RiskEnvelope, Segment


class EnvironmentSpec(QvModel):
    tier: Literal["dev", "staging", "prod"]
    vars: dict[str, Any] | None = None
    capital: Amount = Field(
        description="total capital of the environment", json_schema_extra={"x-qv-risk": "ceiling"}
    )
    risk: RiskEnvelope
    admits_lifecycle: list[Lifecycle] = Field(
        description="lifecycle states allowed to be active here"
    )
    store: str | None = None
    segments: list[Segment] | None = None


class Environment(Document):
    kind: Literal["Environment"]
    spec: EnvironmentSpec

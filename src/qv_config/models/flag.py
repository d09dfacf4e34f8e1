"""Flag: a feature flag with Unleash client-features semantics (SPEC §9).

Inside ``spec`` the Unleash structures keep Unleash's camelCase names so that a Flag's spec *is*
a client-features entry; qv adds ``type``, ``owner``, ``expires`` and ``description``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from qv_config.models.common import Constraint, Document, IsoDate, QvModel, Variant

StrategyName = Literal[
    "default",
    "userWithId",
    "gradualRolloutUserId",
    "gradualRolloutSessionId",
    "gradualRolloutRandom",
    "flexibleRollout",
    "remoteAddress",
    "applicationHostname",
]


class FlagStrategy(QvModel):
    name: StrategyName
    title: str | None = None
    disabled: bool | None = None
    parameters: dict[str, str] | None = None  # Unleash parameters are strings ("10", not 10)
    constraints: list[Constraint] | None = None
    segments: list[str] | None = None
    variants: list[Variant] | None = None


class Dependency(QvModel):
    feature: str
    enabled: bool | None = None
    variants: list[str] | None = None


class FlagSpec(QvModel):
    type: Literal["release", "kill-switch", "experiment", "ops"]
    owner: str | None = None
    expires: IsoDate | None = None
    description: str | None = None
    # A kill switch enabled is trading allowed (templates/flag/kill-switch.yaml): enabling one
    # again loosens; other flags' ``enabled`` carries no risk direction.
    enabled: bool = Field(
        json_schema_extra={
            "x-qv-risk": "ceiling",
            "x-qv-risk-order": [False, True],
            "x-qv-risk-when": {"1/type": "kill-switch"},
        }
    )
    impressionData: bool | None = None
    strategies: list[FlagStrategy] | None = None
    variants: list[Variant] | None = None
    dependencies: list[Dependency] | None = None


class Flag(Document):
    kind: Literal["Flag"]
    spec: FlagSpec

"""Strategy: a trading-strategy definition (docs/format.md, "Strategy")."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from qv_config.models.common import (
    SHA256_PATTERN,
    Amount,
    AssetClass,
    Document,
    IsoDate,
    Lifecycle,
    Limits,
    QvModel,
    Range,
)

Scalar = int | float | bool | str

# Lifecycle states from the least to the most risk a strategy may carry: the way toward live
# (draft, backtested, approved) loosens, the way out of it (deprecated, retired) tightens.
LIFECYCLE_RISK = ("retired", "deprecated", "draft", "backtested", "approved", "live")


class Parameter(QvModel):
    """A typed parameter: min/max for int and float; choices required for enum."""

    # Whether value fits type and bounds is a document rule (QV401-403); only the structure
    # itself (choices for enum, min <= max) is checked here, as QV303.

    type: Literal["int", "float", "bool", "str", "enum"]
    value: Scalar
    min: int | float | None = None
    max: int | float | None = None
    choices: list[Scalar] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _structure(self) -> Parameter:
        if self.type == "enum" and not self.choices:
            raise ValueError("an enum parameter needs a non-empty 'choices' list")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Period(QvModel):
    start: IsoDate
    end: IsoDate


class Evidence(QvModel):
    backtest_report: str = Field(description="path of the backtest report")
    sha256: Annotated[str, Field(pattern=SHA256_PATTERN, description="64 lowercase hex")]
    period: Period
    max_drawdown_pct: Annotated[float, Field(ge=0, le=100)]
    sharpe: float | None = None


class Universe(QvModel):
    asset_class: AssetClass
    venues: list[str] | None = None
    instruments: list[str] | None = None


class Stage(QvModel):
    name: str
    capital: Amount = Field(
        description="capital deployed at this stage", json_schema_extra={"x-qv-risk": "ceiling"}
    )


class Allocation(QvModel):
    current_stage: str = Field(
        description="name of the stage deployed now; a later stage loosens",
        json_schema_extra={"x-qv-risk": "ceiling", "x-qv-risk-order": "1/stages/*/name"},
    )
    stages: Annotated[list[Stage], Field(min_length=1, description="in deployment order")]


class StrategySpec(QvModel):
    version: str = Field(description="semver, e.g. 1.4.2")
    lifecycle: Lifecycle = Field(
        description="moving toward live loosens",
        json_schema_extra={"x-qv-risk": "ceiling", "x-qv-risk-order": list(LIFECYCLE_RISK)},
    )
    activation: Literal["active", "inactive"] = Field(
        description="activating loosens",
        json_schema_extra={"x-qv-risk": "ceiling", "x-qv-risk-order": ["inactive", "active"]},
    )
    evidence: Evidence | None = None
    universe: Universe | None = None
    parameters: dict[str, Parameter] | None = None
    risk_policy: str = Field(description="name of a RiskPolicy")
    execution_policy: str | None = None
    kill_switch_flag: str = Field(description="name of a kill-switch Flag")
    limits: Limits
    allocation: Allocation


class Strategy(Document):
    kind: Literal["Strategy"]
    spec: StrategySpec


__all__ = [
    "Allocation",
    "Evidence",
    "Parameter",
    "Period",
    "Range",
    "Stage",
    "Strategy",
    "StrategySpec",
    "Universe",
]

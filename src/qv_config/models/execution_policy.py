"""ExecutionPolicy: rule-based choice of execution algorithm (first matching rule wins)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from qv_config.models.common import AssetClass, Document, Pct, QvModel, Range, risk

Algorithm = Literal["twap", "vwap", "pov", "implementation_shortfall", "dma"]
Scalar = int | float | bool | str


class Params(QvModel):
    """Algorithm parameters: a free map of string to scalar; max_participation_pct is a ceiling."""

    # The one known key is modelled so that its x-qv-risk mark reaches the JSON Schema; any other
    # key is allowed (the one open model of qv) but must hold a scalar.

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)

    max_participation_pct: Pct | None = risk(description="max % of market volume")


class TimeWindow(QvModel):
    start: str = Field(description="HH:MM")
    end: str = Field(description="HH:MM")
    tz: str | None = None


class When(QvModel):
    adv_pct: Range | None = None
    notional: Range | None = None
    instrument_types: list[AssetClass] | None = None
    volatility_pct: Range | None = None
    spread_bps: Range | None = None
    time_window: TimeWindow | None = None


class Choice(QvModel):
    algorithm: Algorithm
    params: Params | None = None


class Rule(Choice):
    name: str
    when: When | None = None


class ExecutionPolicySpec(QvModel):
    default: Choice
    rules: list[Rule] | None = None


class ExecutionPolicy(Document):
    kind: Literal["ExecutionPolicy"]
    spec: ExecutionPolicySpec

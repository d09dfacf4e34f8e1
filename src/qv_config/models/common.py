"""Pieces shared by several kinds: the strict base model, the envelope, Limits, the risk envelope,
Unleash constraints and variants, and the field helpers that attach ``x-qv-risk`` marks.

Every model is ``extra="forbid"`` (a misspelt field must fail, SPEC §2), ``frozen`` and
``strict``: YAML 1.2 gives real types, so a boolean is never a number and a number is never a
string. Dates are the one exception: YAML 1.2 core has no timestamp, so they arrive as
``YYYY-MM-DD`` strings and ``IsoDate`` parses them (and only them: no unix timestamps).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{0,62}$"
ORDER_RATE_PATTERN = r"^[1-9][0-9]*/[1-9][0-9]*(ms|s|m|h)$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

RiskMark = Literal["ceiling", "floor"]


def number(value: object) -> str:
    """A bound as people write it: 100.0 reads 100, 1e6 reads 1000000."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


class QvModel(BaseModel):
    """Base of every built-in model: strict, closed and immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def risk(mark: RiskMark = "ceiling", description: str | None = None) -> Any:
    """An optional field that is a risk limit (SPEC §2: ``x-qv-risk``); ``None`` when absent."""
    return Field(default=None, description=description, json_schema_extra={"x-qv-risk": mark})


def _iso_date(value: Any) -> Any:
    # date.fromisoformat alone would also take "20260101" and week dates: require the ISO form.
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    # check.py words the message with the offending value; the template stays value-free.
    raise PydanticCustomError("date_format", "not a valid date (YYYY-MM-DD)")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="^[a-z0-9][a-z0-9.-]{0,62}$")]
OrderRate = Annotated[
    str, Field(pattern=ORDER_RATE_PATTERN, description='"<count>/<n><unit>", unit ms|s|m|h')
]
Amount = Annotated[float, Field(ge=0)]
Pct = Annotated[float, Field(ge=0, le=100)]
Lifecycle = Literal["draft", "backtested", "approved", "live", "deprecated", "retired"]
AssetClass = Literal["equity", "future", "fx", "option", "etf", "bond", "crypto"]


class Metadata(QvModel):
    name: Name
    owner: str | None = None
    description: str | None = None
    labels: dict[str, str] | None = None


class Limits(QvModel):
    """Trading limits of a Strategy, a RiskPolicy or an environment envelope: all ceilings."""

    max_gross_exposure: Amount | None = risk(description="max gross exposure (money)")
    max_net_exposure: Amount | None = risk(description="max net exposure (money)")
    max_order_notional: Amount | None = risk(description="max notional of one order (money)")
    order_rate: OrderRate | None = risk(description='max order rate, e.g. "20/1s"')
    max_drawdown_pct: Pct | None = risk(description="max drawdown in percent")
    daily_loss_limit: Amount | None = risk(description="max loss in one day (money)")


class Concentration(QvModel):
    max_instrument_pct: Pct | None = risk(description="% of gross in one instrument")
    max_sector_pct: Pct | None = risk(description="% of gross in one sector")


class CorrelationGroup(QvModel):
    name: str
    instruments: list[str]
    max_gross_exposure: Amount | None = risk(description="gross exposure cap of the group")


class RiskEnvelope(QvModel):
    """``RiskPolicy.spec``, also the risk envelope of an Environment."""

    trading_state: Literal["active", "reducing", "halted"] = Field(
        description="halted, reducing or active; toward active loosens",
        json_schema_extra={
            "x-qv-risk": "ceiling",
            "x-qv-risk-order": ["halted", "reducing", "active"],
        },
    )
    limits: Limits
    concentration: Concentration | None = None
    correlation_groups: list[CorrelationGroup] | None = None
    restricted_instruments: list[str] | None = None


# --- Unleash structures: camelCase names exactly as Unleash's client-features API ---------------

Operator = Literal[
    "IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH",
    "NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE",
    "DATE_AFTER", "DATE_BEFORE", "SEMVER_EQ", "SEMVER_GT", "SEMVER_LT", "REGEX", "IN_CIDR",
]  # fmt: skip


class Constraint(QvModel):
    contextName: str
    operator: Operator
    values: list[str] | None = None
    value: str | None = None
    inverted: bool | None = None
    caseInsensitive: bool | None = None


class Payload(QvModel):
    type: Literal["string", "json", "csv", "number"]
    value: str


class Override(QvModel):
    contextName: str
    values: list[str]


class Variant(QvModel):
    name: str
    weight: Annotated[int, Field(ge=0, le=1000)] | None = None
    weightType: Literal["variable", "fix"] | None = None
    stickiness: str | None = None
    payload: Payload | None = None
    overrides: list[Override] | None = None


class Segment(QvModel):
    """An Unleash segment, declared in ``Environment.spec.segments``."""

    name: str
    description: str | None = None
    constraints: list[Constraint]


class Range(QvModel):
    """A closed interval; either bound may be left out."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {number(self.min)} is greater than max {number(self.max)}")
        return self


class Document(QvModel):
    """The envelope shared by every kind; subclasses add ``kind`` and ``spec``."""

    apiVersion: Literal["qv/v1"]
    metadata: Metadata
    extends: list[str] | None = None

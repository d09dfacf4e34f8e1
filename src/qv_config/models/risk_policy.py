"""RiskPolicy: limits for a group of strategies. Its spec is the shared ``RiskEnvelope``."""

from __future__ import annotations

from typing import Literal

from qv_config.models.common import Document, RiskEnvelope

RiskPolicySpec = RiskEnvelope


class RiskPolicy(Document):
    kind: Literal["RiskPolicy"]
    spec: RiskEnvelope

"""The table of built-in kinds: kind name -> document model, and kind -> slug."""

from __future__ import annotations

from pydantic import BaseModel

from qv_config.models.approval_policy import ApprovalPolicy
from qv_config.models.config import Config
from qv_config.models.environment import Environment
from qv_config.models.execution_policy import ExecutionPolicy
from qv_config.models.flag import Flag
from qv_config.models.project import Project
from qv_config.models.risk_policy import RiskPolicy
from qv_config.models.strategy import Strategy

KINDS: dict[str, type[BaseModel]] = {
    "Config": Config,
    "Flag": Flag,
    "Strategy": Strategy,
    "RiskPolicy": RiskPolicy,
    "ExecutionPolicy": ExecutionPolicy,
    "Environment": Environment,
}
"""The document kinds that live in environments (the keys of ``KIND_SLUGS``)."""

ALL_KINDS: dict[str, type[BaseModel]] = {
    **KINDS,
    "Project": Project,
    "ApprovalPolicy": ApprovalPolicy,
}
"""Every built-in kind, including the project manifest ``qv.yaml`` and ``policy/approvals.yaml``."""


def slugs() -> dict[str, str]:
    """kind -> slug for every built-in kind (``KIND_SLUGS`` plus ``Project: project``)."""
    # Imported here, not at module top: importing render.types runs render/__init__, which may
    # import qv_config.models back (an import cycle) and costs time `qv schema` does not need.
    from qv_config.render.types import KIND_SLUGS

    return {**KIND_SLUGS, "Project": "project", "ApprovalPolicy": "approval-policy"}

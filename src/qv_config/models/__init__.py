"""pydantic models of every built-in kind (SPEC §2, docs/format.md), their JSON Schemas, and the
``x-qv-risk`` / ``x-qv-secret`` marks.

Public API:

- ``KINDS`` — kind -> document model for the six kinds of an environment; ``KIND_SLUGS`` (the
  table of ``render.types``); ``Project`` / ``ProjectSpec`` / ``ProjectLimits`` for ``qv.yaml``.
- ``check(kind, data) -> list[SchemaIssue]`` — the schema stage of ``qv validate`` (QV301-303);
  ``kind`` may also be ``"Project"``.
- ``json_schemas()`` (slug -> JSON Schema) and ``export_schemas(out_dir) -> list[Path]``.
- ``Marks``, ``marks(schema)``, ``marks_for_kind(kind)``, ``marks_for_config_schema(schema)``,
  ``match_mark(marks, path)``, ``is_secret(marks, path)``.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

# The submodule ``marks`` shares its name with the function: bound eagerly (it is pure Python).
from qv_config.models.marks import Marks, is_secret, marks, marks_for_config_schema, match_mark

if TYPE_CHECKING:
    from qv_config.models.approval_policy import ApprovalPolicy
    from qv_config.models.checking import SchemaIssue, check
    from qv_config.models.common import Constraint, Limits, Metadata, RiskEnvelope, Segment, Variant
    from qv_config.models.config import Config
    from qv_config.models.environment import Environment
    from qv_config.models.execution_policy import ExecutionPolicy
    from qv_config.models.flag import Flag
    from qv_config.models.kinds import ALL_KINDS, KINDS
    from qv_config.models.project import Project, ProjectLimits, ProjectSpec
    from qv_config.models.risk_policy import RiskPolicy
    from qv_config.models.schema import export_schemas, json_schemas, kind_schema, stale_files
    from qv_config.models.strategy import Parameter, Strategy
    from qv_config.render.types import KIND_SLUGS

# Names are imported on first use (PEP 562): reading qv.yaml needs Project only, and the warm
# path of `qv validate` must not pay for building every kind's pydantic model.
_LAZY: dict[str, str] = {
    "ApprovalPolicy": "approval_policy",
    "SchemaIssue": "checking",
    "check": "checking",
    "Constraint": "common",
    "Limits": "common",
    "Metadata": "common",
    "RiskEnvelope": "common",
    "Segment": "common",
    "Variant": "common",
    "Config": "config",
    "Environment": "environment",
    "ExecutionPolicy": "execution_policy",
    "Flag": "flag",
    "ALL_KINDS": "kinds",
    "KINDS": "kinds",
    "Project": "project",
    "ProjectLimits": "project",
    "ProjectSpec": "project",
    "RiskPolicy": "risk_policy",
    "export_schemas": "schema",
    "json_schemas": "schema",
    "kind_schema": "schema",
    "stale_files": "schema",
    "Parameter": "strategy",
    "Strategy": "strategy",
}


def __getattr__(name: str) -> Any:
    if name == "KIND_SLUGS":
        from qv_config.render.types import KIND_SLUGS

        return KIND_SLUGS
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"qv_config.models.{module}"), name)
    globals()[name] = value
    return value


@cache
def marks_for_kind(kind: str) -> Marks:
    """Risk and secret marks of a built-in kind, as document field-path patterns."""
    from qv_config.models.schema import kind_schema

    return marks(kind_schema(kind))


def risk_marks(kind: str) -> dict[tuple[str, ...], str]:
    """Risk marks of a built-in kind (the name docs/architecture.md announces)."""
    return marks_for_kind(kind).risk


__all__ = [
    "ALL_KINDS",
    "KINDS",
    "KIND_SLUGS",
    "ApprovalPolicy",
    "Config",
    "Constraint",
    "Environment",
    "ExecutionPolicy",
    "Flag",
    "Limits",
    "Marks",
    "Metadata",
    "Parameter",
    "Project",
    "ProjectLimits",
    "ProjectSpec",
    "RiskEnvelope",
    "RiskPolicy",
    "SchemaIssue",
    "Segment",
    "Strategy",
    "Variant",
    "check",
    "export_schemas",
    "is_secret",
    "json_schemas",
    "kind_schema",
    "marks",
    "marks_for_config_schema",
    "marks_for_kind",
    "match_mark",
    "risk_marks",
    "stale_files",
]

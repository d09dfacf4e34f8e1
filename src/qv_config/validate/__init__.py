"""Validation (SPEC §4): YAML, structure and inheritance, schema, document and cross-document
rules, secrets. ``validate(snapshot, envs, paths) -> ValidationResult``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qv_config.validate.types import ValidationResult, ValidationStats

if TYPE_CHECKING:
    from qv_config.validate.api import validate
    from qv_config.validate.engine import validate_rendered

# The engine and its rules are imported on first use: a warm ``qv validate`` that finds its
# result kept imports this package (``validate.worktree``) but runs no rule (~10 ms of imports).
_LAZY = {"validate": "qv_config.validate.api", "validate_rendered": "qv_config.validate.engine"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = ["ValidationResult", "ValidationStats", "validate", "validate_rendered"]

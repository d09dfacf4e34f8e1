"""Validation (SPEC §4): YAML, structure and inheritance, schema, document and cross-document
rules, secrets. ``validate(snapshot, envs, paths) -> ValidationResult``."""

from qv_config.validate.api import validate
from qv_config.validate.engine import validate_rendered
from qv_config.validate.types import ValidationResult, ValidationStats

__all__ = ["ValidationResult", "ValidationStats", "validate", "validate_rendered"]

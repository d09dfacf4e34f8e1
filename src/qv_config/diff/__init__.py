"""Risk-aware diffs of effective configuration (SPEC §5)."""

from qv_config.diff.compute import diff_documents
from qv_config.diff.model import DocChange, EnvDiff, FieldChange

__all__ = ["DocChange", "EnvDiff", "FieldChange", "diff_documents"]

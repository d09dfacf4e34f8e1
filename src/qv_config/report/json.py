"""The ``json`` reporter: a stable document for tools (one entry per finding and environment).

Names and field paths are shown as every report shows them (``findings.shown``); ``file`` stays the
exact path a tool opens. ``json_safe`` writes bidi and other invisible characters as ``\\u``
escapes: the same data, inert when the document is printed to a terminal or a CI log.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from qv_config.findings import Finding, shown
from qv_config.safetext import json_safe

if TYPE_CHECKING:
    from qv_config.report import Reader
    from qv_config.validate.types import ValidationResult

VERSION = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    f = shown(finding)
    return {
        "code": f.code,
        "severity": f.severity.value,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "col": f.col,
        "env": f.env,
        "kind": f.kind,
        "name": f.name,
        "field": f.field,
    }


def summary(result: ValidationResult) -> dict[str, Any]:
    return {
        "valid": result.ok,
        "errors": result.errors,
        "warnings": result.warnings,
        "files": result.files,
        "documents": result.documents,
        "environments": list(result.environments),
    }


def render(result: ValidationResult, *, read: Reader | None = None, color: bool = False) -> str:
    document = {
        "version": VERSION,
        "findings": [finding_dict(f) for f in result.findings],
        "summary": summary(result),
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"

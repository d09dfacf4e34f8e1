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


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (f"    password: {SECRET}-1\n    password: {SECRET}-2\n", f"9 |     password: {MASK}"),
        (
            f"    vendor:\n      api_key: k-{SECRET}\n      api_key: |\n        {SECRET}-block\n",
            f"10 |       api_key: {MASK}",
        ),
    ],
)
def test_any_finding_on_a_secret_line_masks_it(
    case_tree: Callable[[str], Path],
    qv: Callable[..., tuple[int, str, str]],
    lines: str,
    shown: str,
) -> None:
    """A YAML finding (QV102, a duplicate key: no document, no QV601) on a line whose key is a
    secret path, marked by the schema or encrypted by the .sops.yaml rule, shows it masked."""
    tree = case_tree(CASE)
    doc = tree / "environments/dev/configs/oms.yaml"
    doc.write_text(doc.read_text().replace(f"    password: {SECRET}\n", lines))
    (tree / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: ^environments/.*\\.yaml$\n"
        "    encrypted_regex: ^api_key$\n"
        "    age: age1j2sca60r2ch252gr56d2gmejvxm3cv4p0537fcdkh6test6u859st3qfnq\n"
    )
    code, out, err = qv("-C", str(tree), "validate")
    assert code == 1
    assert "QV102" in out
    assert SECRET not in out + err
    assert shown in out


SECRET_KEYS = frozenset({("spec", "db", "password"), ("spec", "tokens")})


@pytest.mark.parametrize(
    ("text", "secret_lines"),
    [
        ("spec:\n  db:\n    password: x\n    host: h\n", {3: 5}),
        ("spec:\n  db: {host: h, password: x}\n", {2: 3}),
        ("spec:\n  tokens:\n    - a\n    -   b\n  port: 1\n", {2: 3, 3: 7, 4: 9}),
        ("spec:\n  db:\n    password: |\n      x\n\n      y\n    host: h\n", {3: 5, 4: 7, 6: 7}),
        ("spec:\n  'db':\n    \"password\": x\n", {3: 5}),
        ("spec:\n  items:\n    - api_key: x\n      url: u\n", {3: 7}),
        ("sops:\n  api_key: x\n", {}),
        ("# password: x\nspec: {}\n", {}),
    ],
)
def test_secret_lines_follow_indentation_dashes_and_flow_maps(
    text: str, secret_lines: dict[int, int]
) -> None:
    import re

    from qv_config.report.secretlines import SecretLines, secret_test

    lines = SecretLines(iter(text.splitlines()), secret_test(re.compile("^api_key$"), SECRET_KEYS))
    count = len(text.splitlines())
    assert {n: c for n in range(1, count + 1) if (c := lines.column(n)) is not None} == (
        secret_lines
    )

"""Folders of example documents: every good one passes, every bad one gives exactly its issues.

A bad example states its expected issues in leading comments, one per line:
``# expect: QV301 spec.limits.max_order_notionl`` (code, then the dotted field path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qv_config.findings import dotted
from qv_config.models import ALL_KINDS, check
from qv_config.models.kinds import slugs
from qv_config.yamlio import load_bytes

EXAMPLES = Path(__file__).parent / "examples"
SLUGS = slugs()
GOOD = sorted((EXAMPLES / "good").glob("*.yaml"))
BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))


def _load(path: Path) -> dict[str, object]:
    data = load_bytes(path.name, path.read_bytes()).data
    assert isinstance(data, dict)
    return data


def _expected(path: Path) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect:"):
            break
        code, field = line.removeprefix("# expect:").split()
        out.add((code, field))
    return out


def test_every_kind_has_good_and_bad_examples() -> None:
    for slug in SLUGS.values():
        assert any(p.name.startswith(f"{slug}-") for p in GOOD), slug
        assert any(p.name.startswith(f"{slug}-") for p in BAD), slug


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good_example_has_no_issues(path: Path) -> None:
    data = _load(path)
    kind = str(data["kind"])
    assert SLUGS[kind] == path.stem[: len(SLUGS[kind])], "file name must start with the kind slug"
    assert check(kind, data) == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_example_gives_exactly_its_issues(path: Path) -> None:
    expected = _expected(path)
    assert expected, f"{path.name} has no '# expect:' line"
    data = _load(path)
    found = check(str(data["kind"]), data)
    assert {(i.code, dotted(i.path)) for i in found} == expected, found
    for issue in found:
        assert issue.message
        assert "\n" not in issue.message
        assert "Input should" not in issue.message, "raw pydantic wording leaked"


def test_all_kinds_are_covered() -> None:
    assert set(ALL_KINDS) == set(SLUGS)

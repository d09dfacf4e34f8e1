"""Example-driven tests of load_bytes: every good file loads, every bad file fails as it says.

Each bad file's first line is ``# expect: CODE LINE:COL``; the test parses it, so adding a case
is adding a file.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from pathlib import Path

import pytest

from qv_config.repo.source import content_hash
from qv_config.yamlio import Limits, Mark, ReplaceDict, ReplaceList, YamlError, load_bytes

EXAMPLES = Path(__file__).parent / "examples"
GOOD = sorted((EXAMPLES / "good").glob("*.yaml"))
BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))
EXPECT = re.compile(r"# expect: (QV\d{3}) (\d+):(\d+)")


DEFAULT = Limits()


def _fail(data: bytes, limits: Limits = DEFAULT) -> YamlError:
    with pytest.raises(YamlError) as info:
        load_bytes("case.yaml", data, limits=limits)
    return info.value


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_good_example_loads_as_mapping(path: Path) -> None:
    data = path.read_bytes()
    doc = load_bytes(path.name, data)
    assert isinstance(doc.data, dict)
    assert doc.digest == content_hash(data)
    assert doc.text == data.decode("utf-8")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_example_fails_with_expected_code_and_position(path: Path) -> None:
    data = path.read_bytes()
    expect = EXPECT.match(data.decode("utf-8", errors="replace"))
    assert expect, f"{path.name}: first line must be '# expect: QVnnn L:C'"
    error = _fail(data)
    assert (error.code, error.mark) is not None
    assert error.code == expect.group(1)
    assert error.mark is not None
    assert (error.mark.line, error.mark.col) == (int(expect.group(2)), int(expect.group(3)))
    assert str(error).startswith(f"case.yaml:{error.mark.line}:{error.mark.col}: {error.code} ")
    assert error.exit_code == 1
    assert "Traceback" not in str(error)


def test_core_schema_scalars_resolve_as_yaml_1_2() -> None:
    spec = load_bytes("s.yaml", (EXAMPLES / "good" / "scalars.yaml").read_bytes()).data["spec"]
    assert spec["norway"] == "NO"
    assert spec["switch"] == "off"
    assert spec["answer"] == "yes"
    assert spec["million"] == 1e6
    assert type(spec["million"]) is float
    assert spec["octal_looking"] == 777
    assert spec["octal"] == 15
    assert spec["hex"] == 31
    assert spec["underscored"] == "1_000"
    assert spec["date"] == "2026-01-01"
    assert spec["time"] == "12:30"
    assert spec["sexagesimal"] == "1:30:00"
    assert spec["empty"] is None
    assert spec["tilde"] is None
    assert spec["quoted_one"] == "1"
    assert spec["minus_zero"] == 0
    assert spec["plus"] == 12
    assert type(spec["plus"]) is int
    assert spec["literal"] == "line one\n  indented\nlast\n"
    assert spec["literal_keep"] == "kept\n\n"
    assert spec["literal_strip"] == "no trailing newline"
    assert spec["folded"] == "folded text\nnew paragraph\n"
    assert spec["strings_not_bools"] == ["tRUE", "On", "NO", "n", "Yes"]
    assert spec["nulls"] == [None, None, None, None]  # a trailing comma adds no item


def test_replace_tag_gives_replace_types() -> None:
    spec = load_bytes("o.yaml", (EXAMPLES / "good" / "overlay_replace.yaml").read_bytes()).data[
        "spec"
    ]
    assert type(spec["endpoints"]) is ReplaceDict
    assert type(spec["venues"]) is ReplaceList
    assert spec["venues"] == ["XLON", "XETR"]
    assert type(spec["pools"]) is ReplaceList
    assert spec["pools"][1] == {"name": "b", "size": 8}


def test_aliases_expand_to_independent_copies() -> None:
    spec = load_bytes("a.yaml", (EXAMPLES / "good" / "anchors.yaml").read_bytes()).data["spec"]
    assert spec["primary"] == spec["defaults"] == spec["secondary"]
    assert spec["primary"] is not spec["secondary"]  # mutating one layer never changes another
    assert spec["alias_of_name"] == "shared-name"


def test_billion_laughs_fails_fast_with_bounded_memory() -> None:
    lines = ['l0: &l0 "lol"']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    data = ("\n".join(lines) + "\n").encode()
    tracemalloc.start()
    started = time.perf_counter()
    error = _fail(data)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert error.code == "QV105"
    assert error.mark is not None
    assert error.mark.line == 4
    assert elapsed < 0.2
    assert peak < 5_000_000


def test_alias_limit_is_configurable() -> None:
    data = b"a: &a [1, 2, 3]\nb: [*a, *a]\n"
    assert load_bytes("x", data).data["b"] == [[1, 2, 3], [1, 2, 3]]
    assert _fail(data, Limits(max_alias_nodes=5)).code == "QV105"


def test_50_mb_file_fails_at_once(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: " + b"x" * (50 << 20) + b"\n")
    data = big.read_bytes()
    started = time.perf_counter()
    error = _fail(data)
    assert time.perf_counter() - started < 0.5
    assert error.code == "QV106"
    assert "split it" in error.detail
    assert _fail(b"a: 12345\n", Limits(max_file_bytes=5)).code == "QV106"


def test_non_utf8_reports_position_of_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nb: café\n".encode("latin-1"))
    error = _fail(path.read_bytes())
    assert error.code == "QV107"
    assert error.mark is not None
    assert (error.mark.line, error.mark.col) == (2, 7)
    assert "0xE9" in error.detail
    assert "UTF-8" in error.detail


def test_utf16_is_refused_as_not_utf8() -> None:
    assert _fail("a: 1\n".encode("utf-16")).code == "QV107"


def test_bom_is_accepted_and_stripped(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\nb: [x]\n")
    data = path.read_bytes()
    doc = load_bytes("bom.yaml", data)
    assert doc.data == {"a": 1, "b": ["x"]}
    assert doc.digest == content_hash(data)  # the hash is of the raw bytes, BOM included
    assert doc.position(("b",)) == Mark(2, 4)  # positions ignore the BOM


def test_crlf_line_endings() -> None:
    assert load_bytes("x", b"a: 1\r\nb:\r\n  - c\r\n").data == {"a": 1, "b": ["c"]}


def test_deep_nesting_is_refused_quickly() -> None:
    for data in (b"a: " + b"[" * 200_000, b"a: " + b"{x: " * 100_000):
        started = time.perf_counter()
        error = _fail(data)
        assert error.code == "QV101"
        assert "deeper than" in error.detail
        assert time.perf_counter() - started < 0.5


def test_nesting_within_the_bound_loads() -> None:
    data = b"a: " + b"[" * 250 + b"1" + b"]" * 250 + b"\n"
    value = load_bytes("x", data).data["a"]
    for _ in range(250):
        value = value[0]
    assert value == 1


def test_control_character_position_and_message() -> None:
    error = _fail(b"a: 1\nb: x\x07y\n")
    assert error.code == "QV101"
    assert error.mark is not None
    assert (error.mark.line, error.mark.col) == (2, 5)
    assert "U+0007" in error.detail


def test_huge_integer_is_refused_on_both_paths() -> None:
    error = _fail(b"a: " + b"7" * 5000 + b"\n")
    assert error.code == "QV101"
    assert "quote it" in error.detail
    # leading zeros do not count: this is just 7
    assert load_bytes("x", b"a: " + b"0" * 5000 + b"7\n").data == {"a": 7}


def test_empty_and_blank_files_are_qv108() -> None:
    for data in (b"", b"\n\n", b"# nothing\n", b"---\n", b"--- \n...\n"):
        assert _fail(data).code == "QV108", data


def test_quoted_merge_key_is_an_ordinary_string() -> None:
    assert load_bytes("x", b'"<<": 1\n').data == {"<<": 1}

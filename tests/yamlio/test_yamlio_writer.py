"""The writer: round-trip edits keep comments; dump_plain output reloads to the same value."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from qv_config.safetext import UNSAFE_CHARS
from qv_config.yamlio import load_bytes, load_text
from qv_config.yamlio.writer import (
    delete_path,
    detect_indent,
    dump_plain,
    dump_roundtrip,
    load_roundtrip,
    set_path,
)

_spec = importlib.util.spec_from_file_location(
    "yamlio_equiv_helpers", Path(__file__).parent / "test_yamlio_lean.py"
)
assert _spec is not None
assert _spec.loader is not None
_equiv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_equiv)
same = _equiv.same

GOOD = sorted((Path(__file__).parent / "examples" / "good").glob("*.yaml"))

AUTHORED = """\
# Strategy overlay for prod: reviewed by risk.
apiVersion: qv/v1
kind: Strategy
metadata: {name: momentum-eu, owner: team-alpha}
spec:
  limits:
    max_order_notional: 500000   # raised after the Q3 review
    order_rate: "20/1s"
  allocation:
    current_stage: canary
    stages:
      - {name: paper, capital: 0}
      - name: full
        capital: 25000000   # ceiling
"""


def test_roundtrip_without_edits_is_identical() -> None:
    assert dump_roundtrip(load_roundtrip(AUTHORED)) == AUTHORED


def test_set_path_changes_only_the_edited_line() -> None:
    doc = load_roundtrip(AUTHORED)
    set_path(doc, ("spec", "allocation", "current_stage"), "full")
    out = dump_roundtrip(doc)
    assert out == AUTHORED.replace("current_stage: canary", "current_stage: full")


def test_set_path_creates_missing_mappings_and_list_items() -> None:
    doc = load_roundtrip(AUTHORED)
    set_path(doc, ("spec", "evidence", "sharpe"), 1.4)
    set_path(doc, ("spec", "allocation", "stages", 2), {"name": "x", "capital": 1})
    out = dump_roundtrip(doc)
    assert "# raised after the Q3 review" in out
    assert "# ceiling" in out
    assert load_text("o.yaml", out).data["spec"]["evidence"] == {"sharpe": 1.4}
    assert load_text("o.yaml", out).data["spec"]["allocation"]["stages"][2]["name"] == "x"


def test_delete_path_keeps_other_comments() -> None:
    doc = load_roundtrip(AUTHORED)
    assert delete_path(doc, ("spec", "limits", "order_rate"))
    assert not delete_path(doc, ("spec", "limits", "nope"))
    assert not delete_path(doc, ("spec", "nothing", "deeper"))
    out = dump_roundtrip(doc)
    assert "order_rate" not in out
    assert out.startswith("# Strategy overlay for prod")
    assert "# raised after the Q3 review" in out


def test_detect_indent() -> None:
    assert detect_indent(AUTHORED) == (2, 4, 2)
    assert detect_indent("a:\n- x\n") == (2, 2, 0)
    assert detect_indent("a: 1\n") == (2, 2, 0)


def test_set_path_rejects_empty_path() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        set_path(load_roundtrip("a: 1\n"), (), 1)


def _plain(value: Any) -> Any:
    """The value with !replace types as plain dict/list: dump_plain writes effective data."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reloads(value: dict[str, Any]) -> None:
    text = dump_plain(value)
    assert same(load_bytes("d.yaml", text.encode()).data, _plain(value)), text


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_dump_plain_reloads_good_examples(path: Path) -> None:
    value = load_bytes(path.name, path.read_bytes()).data
    _reloads(value)


def test_dump_plain_reloads_tricky_corpus() -> None:
    """Property-style: every value the tricky corpus produces survives dump_plain → load."""
    checked = 0
    for text in _equiv._corpus():
        try:
            value = load_bytes("t", text.encode()).data
        except Exception:
            continue
        _reloads(value)
        _reloads({"wrap": {"list": [value, [value]], "v": value}})
        checked += 1
    assert checked > 300


def test_dump_plain_quotes_strings_that_read_as_other_types() -> None:
    strings = ["NO", "1e6", "0777", "true", "null", "~", "", "12", ".inf", "<<", "- x", "#x"]
    text = dump_plain({s: s for s in [*strings, "nope", "1.2.3"]})
    assert "nope: nope\n" in text  # strings YAML 1.2 and 1.1 keep as strings stay plain
    assert "1.2.3: 1.2.3\n" in text
    assert '"NO": "NO"' in text  # YAML 1.1 reads it as false
    assert '"1e6": "1e6"' in text
    assert '"true": "true"' in text
    assert '"": ""' in text
    _reloads({s: s for s in strings})


def test_dump_plain_shape() -> None:
    value = {
        "apiVersion": "qv/v1",
        "spec": {"stages": [{"name": "paper", "capital": 0}], "venues": [], "m": {}},
        "text": "a\nb\n",
        "unicode": "Zürich – 東京",
        "n": [1, 1.5, None, True, float("-inf")],
    }
    assert dump_plain(value) == (
        "apiVersion: qv/v1\n"
        "spec:\n"
        "  stages:\n"
        "    - name: paper\n"
        "      capital: 0\n"
        "  venues: []\n"
        "  m: {}\n"
        "text: |\n"
        "  a\n"
        "  b\n"
        "unicode: Zürich – 東京\n"
        '"n":\n'  # Go yaml.v2 (YAML 1.1) reads a plain n as false
        "  - 1\n"
        "  - 1.5\n"
        "  - null\n"
        "  - true\n"
        "  - -.inf\n"
    )


def test_dump_plain_escapes_characters_yaml_reads_differently() -> None:
    for s in ["a\x85b", "a\u2028b", "tab\there", "cr\r\nlf", " lead\nx", "x\n\n", "\x07", "é\n"]:
        _reloads({"k": s, "l": [s]})


def test_dump_plain_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="cannot write"):
        dump_plain({"a": object()})
    with pytest.raises(TypeError, match="keys must be strings"):
        dump_plain({1: "a"})


# Text a terminal or a CI log would act on: control, bidi, zero-width and tag characters (any
# code point of safetext's set but surrogates, which no rendered value holds: QV408), workflow
# commands; mixed with ordinary text, YAML indicators and line breaks.
_UNSAFE_POINTS = [
    ch
    for ch in map(chr, [*range(0x20), *range(0x7F, 0xA0), 0xAD, 0x61C, 0x180E, 0xFEFF, 0xE0001])
    if not 0xD800 <= ord(ch) <= 0xDFFF
] + ["\u200b", "\u200e", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\U000e0041"]
_TEXT = st.lists(
    st.sampled_from(_UNSAFE_POINTS)
    | st.sampled_from(["::error::x", "##[error]", "\n::warning::y", "\n  ::", ": ", " #", "-", "é"])
    | st.text(alphabet="ab :#-\n\t\"'\\", max_size=4),
    max_size=6,
).map("".join)


def _raw_unsafe(text: str) -> list[str]:
    import re

    return re.findall(f"[{UNSAFE_CHARS}]", text.replace("\n", ""))


@given(st.dictionaries(_TEXT, _TEXT | st.lists(_TEXT, max_size=3), max_size=4))
@settings(max_examples=300, deadline=None)
def test_dump_plain_escapes_what_a_terminal_would_act_on(value: dict[str, Any]) -> None:
    """Every such character is a \\u / \\x escape in a double-quoted scalar (no raw one but the
    line breaks of the layout), no line starts a workflow command, no ``##[``; the text still
    loads back to the same value, with qv's loader and with PyYAML."""
    text = dump_plain(value)
    assert _raw_unsafe(text) == [], text
    assert "##[" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")], text
    assert load_bytes("d.yaml", text.encode()).data == value
    assert yaml.safe_load(text) == (value or {})


def test_dump_plain_writes_bidi_as_escapes() -> None:
    text = dump_plain({"file": "admin\u202etxt.exe", "tag": "a\U000e0041", "cmd": "x\n::error::y"})
    assert text == ('file: "admin\\u202etxt.exe"\ntag: "a\\U000e0041"\ncmd: "x\\n::error::y"\n')


# Strings YAML 1.2 keeps as text but a YAML 1.1 reader (PyYAML, Go yaml.v2) reads as another type
# or cannot read at all; before, `qv render --format yaml` wrote them plain (repro-8).
YAML11 = [
    *["yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"],
    *["y", "Y", "n", "N", "=", "~"],
    *["12:30:45", "190:20:30.15", "-1:30", "0b11", "-0b1_0", "017", "0o17", "0x_1F", "1_000"],
    *["1_000.5", "1_0e5", "+.inf", "-Infinity", "+nan", ".5", "1.", "-.5e3", "2001-12-14"],
    *["2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "2002-12-14T21:59:43Z"],
]


def test_dump_plain_quotes_what_yaml_1_1_reads_as_another_type() -> None:
    value = {"v": YAML11, **{s: s for s in YAML11}}
    text = dump_plain(value)
    assert yaml.safe_load(text) == value, text
    assert load_bytes("d.yaml", text.encode()).data == value


@given(st.lists(st.text(alphabet="0123456789+-._:eExXbBoO yYnNtTZ=~", max_size=12), max_size=8))
@settings(max_examples=400, deadline=None)
def test_dump_plain_reads_back_the_same_with_pyyaml(strings: list[str]) -> None:
    value = {"v": strings, **{s: s for s in strings}}
    text = dump_plain(value)
    assert yaml.safe_load(text) == value, text
    assert load_bytes("d.yaml", text.encode()).data == value

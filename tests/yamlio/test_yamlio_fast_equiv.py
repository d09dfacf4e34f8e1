"""The fast path (yaml_rs) never gives a value the strict path would not.

Over every good example and a generated corpus of tricky scalars in every position (mapping
value, list item, flow mapping, key), whenever ``fast.try_load`` vouches for a text its value
equals the strict path's value with the same types (int vs float vs bool vs str vs None). Where
raw yaml_rs disagrees with the strict path, the prefilter must have routed the text away.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from qv_config.yamlio import Limits, YamlError, fast, load_bytes, strict

GOOD = sorted((Path(__file__).parent / "examples" / "good").glob("*.yaml"))

TRICKY = [
    "NO",
    "off",
    "yes",
    "y",
    "On",
    "1e6",
    "1E6",
    "1e+6",
    "0777",
    "0o17",
    "0x1F",
    "0x1f",
    ".inf",
    "-.inf",
    "+.inf",
    ".Inf",
    ".NAN",
    ".nan",
    ".NaN",
    "~",
    "null",
    "Null",
    "NULL",
    '""',
    "''",
    "'1'",
    '"1"',
    "1_000",
    "_1",
    "1_",
    "1e1_0",
    "0x_1",
    "0o1_7",
    "1.0",
    "-0",
    "-0.0",
    "+12",
    "2026-01-01",
    "2026-01-01T10:00:00Z",
    "12:30",
    "1:30:00",
    "0.5e-3",
    ".5",
    "5.",
    "-.5",
    "+.5e3",
    "0b101",
    "0B1",
    "0X1F",
    "0O17",
    "-0x1F",
    "+0o7",
    "0o8",
    "1.2.3",
    "00",
    "-00",
    "0001.5",
    "1.e3",
    ".e3",
    "+",
    "-.",
    ".",
    "1e",
    "0o",
    "0x",
    "inf",
    "nan",
    "-.nan",
    "123456789012345678901234567890",
    "-98765432109876543210",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "FALSE",
    "fAlse",
    "é",
    "Zürich – 東京 ✓",
    "'it''s'",
    '"tab\\tx"',
    '"\\u00e9\\x41"',
    "a b c",
    "mom_12_1",
    "key_1",
    "20/1s",
    "a#b",
    "a:b",
    "https://x.y/z?a=b",
    "1:2",
    "--1",
    "-+1",
    "0e0",
    "12e3",
    "1e6e6",
    "0x1.8",
    "v1.4.2",
    "[]",
    "{}",
    "[1, 2.5, x]",
    '"\\N\\_\\L\\P\\/"',
    "a\u0085b",
    "a\u2028b",
    "a!b",
    "R&D",
    "x*y",
    "{a: 1, b: [true, ~]}",
    "[[1], [2, [3]]]",
    '"\\N\\_\\L\\P\\/"',
    "a\u0085b",
    "a\u2028b",
    '"multi\\nline"',
    "",
    "<x>",
    "@x",
    "%x",
    "`x`",
]

BLOCKS = [
    "|\n  a\n  b\n",
    "|-\n  a\n  b\n",
    "|+\n  a\n\n",
    ">\n  a\n  b\n\n  c\n",
    ">-\n  a\n  b\n",
    "|2\n    indented\n",
    "plain\n  continued\n",
    '"double\n  folded"\n',
    "'single\n\n  para'\n",
]


def _corpus() -> list[str]:
    texts = []
    for s in TRICKY:
        texts += [f"k: {s}\n", f"k:\n  - {s}\n  - x\n", f"k: {{a: {s}, b: 1}}\n", f"k: [{s}]\n"]
        texts += [f"{s}: v\n", f"m:\n  {s}: v\n"]
    texts += [f"k: {b}" for b in BLOCKS]
    texts += ["k: 1 # comment\n", "# head\nk: v\n\n\n", "a: 1\r\nb: 2\r\n", "k:\n", "k: ~\n"]
    return texts


def same(a: Any, b: Any) -> bool:
    """Deep equality that also compares types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float) and a == 0:
        return math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def _strict(text: str) -> Any:
    try:
        return strict.compose("t", text.encode(), Limits()).value
    except YamlError as err:
        return err


@pytest.mark.parametrize("text", [p.read_text("utf-8") for p in GOOD], ids=[p.name for p in GOOD])
def test_fast_equals_strict_on_good_examples(text: str) -> None:
    value = fast.try_load(text)
    if value is not fast.MISS:
        assert same(value, _strict(text))


def test_fast_equals_strict_on_tricky_corpus() -> None:
    vouched = 0
    for text in _corpus():
        expected = _strict(text)
        value = fast.try_load(text)
        if value is fast.MISS:
            continue
        vouched += 1
        assert not isinstance(expected, YamlError), f"fast accepted what strict refuses: {text!r}"
        assert same(value, expected), f"{text!r}: fast {value!r} != strict {expected!r}"
    assert vouched > 200  # the fast path really is used for ordinary text


def test_prefilter_routes_every_raw_disagreement() -> None:
    disagreements = 0
    for text in _corpus():
        try:
            raw = yaml_rs.loads(text, parse_datetime=False)
        except Exception:
            continue
        if not same(raw, _strict(text)):
            disagreements += 1
            assert fast.try_load(text) is fast.MISS, text
    assert disagreements > 10  # 1_000, 0b101, -0x1F, 1: v ... exist and are caught


def test_load_bytes_agrees_with_strict_everywhere() -> None:
    for text in _corpus():
        expected = _strict(text)
        if isinstance(expected, YamlError):
            with pytest.raises(YamlError) as info:
                load_bytes("t", text.encode())
            assert info.value.code == expected.code, text
        else:
            assert same(load_bytes("t", text.encode()).data, expected), text


def test_prefilter_examples() -> None:
    assert not fast.is_doubtful("signal_name: mom_12_1\nkey_1: x\nrate: 20/1s\n")
    for text in ["a: 1_000", "a: _1", "a: 0b1", "a: -0x1", "a: *x", "a: !t x", "<<: x", "---\n"]:
        assert fast.is_doubtful(text), text

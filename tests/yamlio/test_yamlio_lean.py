"""One YAML reader: libyaml's events and qv's composer (the Rust yaml_rs fast path is gone).

The composer's flat loop (``yamlio.lean``) never gives a value the recursive ``Composer`` would
not: over every good and bad example and a generated corpus of tricky scalars in every position
(mapping value, list item, flow mapping, key), whenever it gives a value, that value equals the
Composer's with the same types (int vs float vs bool vs str vs None); wherever the Composer
refuses a text, the loop abstains. ``load_bytes`` gives the Composer's value or error code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from qv_config.yamlio import Limits, YamlError, lean, load_bytes, strict

GOOD = sorted((Path(__file__).parent / "examples" / "good").glob("*.yaml"))
BAD = sorted((Path(__file__).parent / "examples" / "bad").glob("*.yaml"))

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


@pytest.mark.parametrize("path", GOOD + BAD, ids=[p.name for p in GOOD + BAD])
def test_lean_equals_the_composer_on_examples(path: Path) -> None:
    data = path.read_bytes()
    value, expected = lean.lean(data), _strict(data.decode("utf-8", "replace"))
    if value is not lean.ABSTAIN:
        assert same(value, expected)


def test_lean_equals_the_composer_on_tricky_corpus() -> None:
    vouched = 0
    for text in _corpus():
        expected = _strict(text)
        value = lean.lean(text.encode())
        if value is lean.ABSTAIN:
            continue
        vouched += 1
        assert not isinstance(expected, YamlError), f"lean accepted what strict refuses: {text!r}"
        assert same(value, expected), f"{text!r}: lean {value!r} != composer {expected!r}"
    assert vouched > 400  # the loop really serves ordinary text


def test_lean_abstains_where_the_composer_must_decide() -> None:
    texts = ["a: &x 1\nb: *x\n", "a: !t x\n", "<<: {a: 1}\n", "a: 1\na: 2\n", "1: v\n"]
    texts += ["? [a]\n: v\n", "a: 1\n---\nb: 2\n", "- a\n", "!replace {a: 1}\n", "a: [\n"]
    for text in texts:
        assert lean.lean(text.encode()) is lean.ABSTAIN, text


def test_load_bytes_agrees_with_strict_everywhere() -> None:
    for text in _corpus():
        expected = _strict(text)
        if isinstance(expected, YamlError):
            with pytest.raises(YamlError) as info:
                load_bytes("t", text.encode())
            assert info.value.code == expected.code, text
        else:
            assert same(load_bytes("t", text.encode()).data, expected), text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: |\n", ""),  # yaml_rs read "\n": an empty block at the end of a file is empty
        ("a: >\n", ""),
        ("a: |", ""),
        ("a: |-\n", ""),
        ("a: |+\n\n", "\n"),
        ("b: 1\na: |\n", ""),
    ],
)
def test_an_empty_block_at_the_end_of_a_file_is_yaml_1_2(text: str, value: str) -> None:
    assert load_bytes("t.yaml", text.encode()).data["a"] == value

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
from hypothesis import given, settings
from hypothesis import strategies as st

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


# -- generated documents (hypothesis): the loop and the Composer agree on every text ----------

_PLAIN_KEYS = ["a", "b", "c", "d", "e", "name", "k1", "x y", "'q'", '"Q"', "é"]
_ODD_KEYS = ["'a'", '"b"', "1", "null", "~", "<<", "'<<'", "true", "1.5", "0x1F", '""']
_KEYS = st.sampled_from(_PLAIN_KEYS * 40 + _ODD_KEYS)
_FLOW_SAFE = [s for s in TRICKY if not any(c in s for c in ",[]{}:#\n") and s.strip() == s]
_SCALARS = st.sampled_from(_FLOW_SAFE * 6 + TRICKY + ["a", "x", "1", "2.5", "'<<'", '"a"'] * 4)
_DECORATION = st.sampled_from([""] * 80 + ["&x ", "!replace ", "!t ", "!!str ", "&y "])


def _flow(node: Any) -> str:
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k[1:]}: {_flow(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_flow(item) for item in node) + "]"
    return str(node)


def _block(node: dict[str, Any], pad: str) -> str:
    """Keys come with a first letter: ``f`` writes the value in flow style."""
    lines = []
    for key, value in node.items():
        flow, name = key[0] == "f", key[1:]
        if isinstance(value, dict) and value and not flow:
            lines.append(f"{pad}{name}:\n{_block(value, pad + '  ')}")
        elif isinstance(value, list) and value and not flow:
            items = "".join(f"{pad}- {_flow(item)}\n" for item in value)
            lines.append(f"{pad}{name}:\n{items}")
        else:
            lines.append(f"{pad}{name}: {_flow(value)}\n")
    return "".join(lines)


def _decorated(draw: Any, node: Any) -> Any:
    """``node`` with an anchor or a tag sometimes, or an alias (as text of the flow form)."""
    if isinstance(node, dict | list):
        return node
    return draw(st.sampled_from([draw(_DECORATION) + node] * 80 + ["*x"]))


@st.composite
def _documents(draw: Any) -> str:
    keys = st.tuples(st.sampled_from("fbb"), _KEYS).map("".join)
    tree = st.recursive(
        _SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=12,
    )
    root = draw(st.dictionaries(keys, tree, min_size=1, max_size=4))

    def decorate(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: decorate(v) for k, v in node.items()}
        if isinstance(node, list):
            return [decorate(item) for item in node]
        return _decorated(draw, node)

    return _block(decorate(root), "")


@given(_documents())
@settings(max_examples=600, deadline=None)
def test_lean_equals_the_composer_on_generated_documents(text: str) -> None:
    """Whenever the loop gives a value it is the Composer's (types exact); wherever the
    Composer refuses, the loop abstains. Again with what the first run remembered (keys and
    numbers met before), and with nothing remembered."""
    expected = _strict(text)
    for _ in range(2):
        value = lean.lean(text.encode())
        if value is not lean.ABSTAIN:
            assert not isinstance(expected, YamlError), (
                f"lean accepted what strict refuses: {text!r}"
            )
            assert same(value, expected), f"{text!r}: lean {value!r} != composer {expected!r}"


def test_what_the_loop_remembers_changes_no_value(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _corpus()
    first = [lean.lean(text.encode()) for text in texts]
    again = [lean.lean(text.encode()) for text in texts]  # keys and numbers remembered
    monkeypatch.setattr(lean, "_KEYS", {})
    monkeypatch.setattr(lean, "_RESOLVED", dict(lean.CONSTANTS))
    monkeypatch.setattr(lean, "_MAX_KEYS", 0)
    monkeypatch.setattr(lean, "_MAX_RESOLVED", 0)
    bare = [lean.lean(text.encode()) for text in texts]  # nothing remembered
    for text, a, b, c in zip(texts, first, again, bare, strict=True):
        assert (a is lean.ABSTAIN) == (b is lean.ABSTAIN) == (c is lean.ABSTAIN), text
        if a is not lean.ABSTAIN:
            assert same(a, b), text
            assert same(a, c), text
    assert "1e6" not in lean._RESOLVED
    assert "k" not in lean._KEYS


@pytest.mark.parametrize("depth", [298, 299, 300, 301])
def test_nesting_at_the_limit(depth: int) -> None:
    """The loop takes a document up to ``MAX_DEPTH`` containers deep (the root is one) and
    abstains beyond; the Composer decides there (QV101)."""
    for opening in (
        "k: " + "[" * (depth - 1) + "]" * (depth - 1),
        "k: " + "{a: " * (depth - 1) + "1" + "}" * (depth - 1),
    ):
        value, expected = lean.lean(opening.encode()), _strict(opening)
        if depth <= lean.MAX_DEPTH:
            assert value is not lean.ABSTAIN
            assert same(value, expected)
        else:
            assert value is lean.ABSTAIN
            assert isinstance(expected, YamlError)
            assert expected.code == "QV101"


def test_value_of_is_load_bytes_without_the_document() -> None:
    """The parse workers' entry: the same digest and value, or the same error (code, message,
    position), checked in the same order (size, UTF-8, YAML)."""
    from qv_config.yamlio.loader import value_of

    limits = Limits(max_file_bytes=64)
    texts = [t.encode() for t in _corpus()]
    texts += [
        b"\xef\xbb\xbfk: v\n",
        b"k: caf\xc3\xa9\n",
        b"k: caf\xe9\n",
        b"k: [\xe9\n",
        b"a: 1\na: 2\n",
    ]
    texts += [b"k: " + b"x" * 70 + b"\n", b"k: [" + b"\xe9" * 70, b"\xef\xbb\xbf", b""]
    for data in texts:
        try:
            doc = load_bytes("t.yaml", data, limits=limits)
        except YamlError as err:
            expected = (err.code, err.detail, err.mark)
        else:
            digest, value = value_of("t.yaml", data, limits)
            assert digest == doc.digest, data
            assert same(value, doc.data), data
            continue
        with pytest.raises(YamlError) as info:
            value_of("t.yaml", data, limits)
        assert (info.value.code, info.value.detail, info.value.mark) == expected, data

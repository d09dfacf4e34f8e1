"""Positions: values and keys, block and flow, lazy computation and the enclosing fallback."""

from __future__ import annotations

from qv_config.yamlio import Mark, load_bytes, load_text
from qv_config.yamlio.loader import positions_of

TEXT = """\
apiVersion: qv/v1
metadata: {name: m, labels: {tier: gold}}
spec:
  venues: [XLON, XETR]
  stages:
    - {name: paper, capital: 0}
    - name: full
      capital: 25000000
  ref: &r {a: 1}
  copy: *r
  text: |
    block
"""


def test_positions_are_lazy() -> None:
    doc = load_text("p.yaml", TEXT)
    assert doc._positions is None  # nothing computed by loading
    assert doc.position(("spec",)) == Mark(4, 3)  # a block mapping starts at its first key
    assert doc._positions is not None


def test_value_positions_block_and_flow() -> None:
    doc = load_text("p.yaml", TEXT)
    assert doc.position(()) == Mark(1, 1)
    assert doc.position(("apiVersion",)) == Mark(1, 13)
    assert doc.position(("metadata", "name")) == Mark(2, 18)
    assert doc.position(("metadata", "labels", "tier")) == Mark(2, 36)
    assert doc.position(("spec", "venues", 1)) == Mark(4, 18)
    assert doc.position(("spec", "stages", 0, "capital")) == Mark(6, 30)
    assert doc.position(("spec", "stages", 1)) == Mark(7, 7)
    assert doc.position(("spec", "stages", 1, "capital")) == Mark(8, 16)
    assert doc.position(("spec", "copy")) == Mark(10, 9)  # an alias: where it is used
    assert doc.position(("spec", "text")) == Mark(11, 9)


def test_key_positions() -> None:
    doc = load_text("p.yaml", TEXT)
    assert doc.key_position(("spec",)) == Mark(3, 1)
    assert doc.key_position(("metadata", "labels")) == Mark(2, 21)
    assert doc.key_position(("spec", "stages", 0, "capital")) == Mark(6, 21)
    assert doc.key_position(("spec", "stages", 1, "capital")) == Mark(8, 7)


def test_position_falls_back_to_enclosing_value() -> None:
    doc = load_text("p.yaml", TEXT)
    assert doc.position(("spec", "stages", 0, "missing", "deeper")) == Mark(6, 7)
    assert doc.position(("spec", "copy", "a")) == Mark(10, 9)  # inside an alias expansion
    assert doc.position(("nowhere",)) == Mark(1, 1)
    assert doc.key_position(("spec", "nope")) == Mark(4, 3)  # no key: the enclosing value


def test_positions_count_characters_not_bytes() -> None:
    doc = load_bytes("u.yaml", "a: {ü: 東京, b: x}\n".encode())
    assert doc.position(("a", "b")) == Mark(1, 15)


def test_positions_same_on_fast_and_strict_loaded_docs() -> None:
    fast_doc = load_text("f.yaml", "a:\n  b: 1\n")
    strict_doc = load_text("s.yaml", "a:\n  b: !replace [1]\n")
    assert fast_doc.position(("a", "b")) == Mark(2, 6)
    assert strict_doc.position(("a", "b")) == Mark(2, 6)
    assert positions_of("f.yaml", b"\xef\xbb\xbfa: 1\n")[("a",)] == Mark(1, 4)

"""safetext: escaping and bounds, checked against Unicode's categories and the formats' rules."""

from __future__ import annotations

import json

import pytest

from qv_config.findings import Finding, shown
from qv_config.safetext import (
    ELLIPSIS,
    EXCERPT,
    MESSAGE,
    bounded,
    clip,
    escape,
    json_safe,
    safe,
)
from tests.output.hostile import HOSTILE, raw_unsafe


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_escape_leaves_no_unsafe_character_and_is_idempotent(name: str) -> None:
    text = HOSTILE[name]
    once = escape(text)
    assert raw_unsafe(once) == []
    assert "##[" not in once
    assert not once.lstrip().startswith("::")
    assert escape(once) == once


def test_escape_shows_what_it_replaced() -> None:
    assert escape("a\x1b[31mb\u202ec\nd\U000e0041") == "a\\x1b[31mb\\u202ec\\nd\\U000e0041"
    assert escape("  ::error::x") == "  \\x3a:error::x"  # the runner trims leading spaces
    assert escape("a ::error::x") == "a ::error::x"  # mid-line: not a command
    assert escape("x ##[error]y") == "x #\\x23[error]y"  # the legacy form: anywhere
    assert escape("plain → text ✓ ⚠️ café") == "plain → text ✓ ⚠️ café"


def test_clip_and_safe_bound_names() -> None:
    assert clip("abcdef", 4) == "abc" + ELLIPSIS
    assert clip("abcd", 4) == "abcd"
    assert len(safe("x" * 10**6)) == 200
    assert safe("\x1b" * 10**6, 10) == "\\x1b\\x1b\\" + ELLIPSIS


def test_bounded_elides_quoted_values_runs_and_containers() -> None:
    quoted = bounded(f"value {'A' * 10**6!r} is bad; fix it")
    assert quoted == f"value '{'A' * 38}…{'A' * 39}' is bad; fix it"
    spaced = bounded(f"value {'a b ' * 10**5!r} is bad")
    assert spaced.startswith("value 'a b a b")
    assert spaced.endswith("a b ' is bad")
    assert len(spaced) == len("value  is bad") + EXCERPT
    run = bounded("value " + "B" * 10**6 + " is bad")
    assert run == "value " + "B" * 39 + "…" + "B" * 40 + " is bad"
    path = "/home/someone/" + "deep/" * 30 + "strategy.schema.json"
    assert bounded(f"out of date: {path}").endswith("/deep/deep/strategy.schema.json")
    mapping = bounded(f"{ {f'k{i}': 'v v' for i in range(10**4)} } is not a string")
    assert mapping.startswith("{'k0': 'v v'")
    assert mapping.endswith("'k9999': 'v v'} is not a string")
    assert len(mapping) == len(" is not a string") + EXCERPT
    prose = bounded("word " * 1000)
    assert len(prose) == MESSAGE
    assert f" {ELLIPSIS} " in prose
    for text in (quoted, spaced, run, mapping, prose):
        assert bounded(text) == text  # a cached finding is built again: nothing changes


def test_bounded_keeps_real_messages_whole() -> None:
    message = (
        "encrypted only to keys no rule names (age1kqvmjphu9pffru4v2x8mll7gfjgwyc9rca37jk0zfsrvyq"
        "mfy3rsk6pzre); run `qv secrets rotate environments/dev/configs/example-service.yaml`"
    )
    assert bounded(message) == message
    assert bounded("risk policy p's 1,000,000 and 'x'") == "risk policy p's 1,000,000 and 'x'"


def test_a_finding_bounds_its_message_where_it_is_made() -> None:
    finding = Finding("QV403", f"value {'Z' * 10**6!r} \x1b[2J", "a.yaml", field="spec.\x1bx")
    assert len(finding.message) < EXCERPT + 20
    assert "\x1b" not in finding.message
    assert finding.field == "spec.\x1bx"  # exact until shown (it may name a document)
    assert shown(finding).field == "spec.\\x1bx"
    assert shown(finding).file == "a.yaml"


def test_json_safe_keeps_the_data_and_escapes_the_rest() -> None:
    data = {"k\u202e": list(HOSTILE.values()), "lone": "\udc80"}
    text = json.dumps(data, indent=2, ensure_ascii=False)
    out = json_safe(text)
    assert raw_unsafe(out) == []
    assert "##[" not in out
    assert json.loads(out) == data
    assert json_safe(out) == out
    assert json_safe('{"a": 1}') == '{"a": 1}'


def test_every_unsafe_character_is_one_isprintable_refuses() -> None:
    """``escape`` decides printable text without the character class: that is only sound while
    no character of the class is printable to Python (all of Unicode checked)."""
    import re

    from qv_config.safetext import UNSAFE_CHARS

    unsafe = re.compile(f"[{UNSAFE_CHARS}]")
    printable = [hex(c) for c in range(0x110000) if unsafe.match(chr(c)) and chr(c).isprintable()]
    assert printable == []


@pytest.mark.parametrize(
    "text",
    ["plain", "a → b …", "::error::x", "  ::warning", "x ##[group]", "é\u202eb", "a\x1bb", "\u200b",
     "ok::mid", "tab\there"],
)  # fmt: skip
def test_escape_agrees_with_the_character_class(text: str) -> None:
    from qv_config.safetext import _UNSAFE, _escaped

    assert escape(text) == _UNSAFE.sub(_escaped, text)

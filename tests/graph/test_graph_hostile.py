"""A hostile name cannot break out of a diagram: file names, template names and field keys
holding quotes, brackets, Mermaid entity codes and statements, DOT escapes, HTML and bidi
controls stay text inside their label, in Mermaid, DOT and Graphviz's SVG."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from tests.graph.test_graph_cli import dot_or_skip, mermaid_lines_ok

from qv_config.graph.dot import escape_dot
from qv_config.graph.mermaid import escape_mermaid

Qv = Callable[..., Any]
Repo = Any
EVIL = 'x"] --> n0["pwn #quot; <b>\\N\\" %% click n0 call alert()\u202e;'
DOT_NODE = re.compile(r'^  n\d+ \[label="(?:[^"\\\n]|\\.)*", fillcolor="#[0-9a-f]{6}"')
DOT_EDGE = re.compile(r'^  n\d+ -> n\d+( \[label="overlay"\])?;$')


def _hostile(repo: Repo) -> None:
    name = 'evil"]-->n1["x<script>'
    repo.write(f"templates/{name}.yaml", f"spec:\n  '{EVIL}': 1\n")
    repo.write(
        "environments/dev/configs/hostile.yaml",
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: hostile}\n"
        f"extends: ['{name}']\nspec:\n  '{EVIL}2': {{'a\"b': 2}}\n",
    )


def test_mermaid_labels_hold_hostile_text(repo: Repo, qv: Qv) -> None:
    _hostile(repo)
    done = qv(repo.root, "graph", "--env", "dev", "config/hostile")
    assert done.code == 0, done.err
    mermaid_lines_ok(done.out)
    assert done.out.count("-->") == 2  # template -> document -> effective: nothing more
    for raw in ("<script", "<b>", "%%", "\u202e", '"]'):  # "click" is left only as text
        assert raw not in done.out.replace('"]\n', "\n"), raw
    labels = re.findall(r'\["([^"]*)"\]', done.out)
    shown = [_unmermaid(label) for label in labels]
    assert any('template evil"]-->n1["x<script>' in text for text in shown)
    assert any("\\u202e" in text and "#quot;" in text for text in shown)  # bidi shown escaped


def _unmermaid(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m.group(1))), label)


def test_dot_labels_hold_hostile_text(repo: Repo, qv: Qv) -> None:
    _hostile(repo)
    done = qv(repo.root, "graph", "--env", "dev", "config/hostile", "--format", "dot")
    assert done.code == 0, done.err
    body = done.out.rstrip("\n").split("\n")
    assert body[0] == "digraph qv {"
    assert body[-1] == "}"
    for line in body[4:-1]:
        assert DOT_NODE.match(line) or DOT_EDGE.match(line), line
    assert "\u202e" not in done.out


def test_svg_shows_hostile_text_as_text(repo: Repo, qv: Qv) -> None:
    dot_or_skip()
    _hostile(repo)
    done = qv(repo.root, "graph", "--env", "dev", "config/hostile", "--format", "svg")
    assert done.code == 0, done.err
    assert "<script" not in done.out
    assert "<b>" not in done.out
    assert "&lt;script&gt;" in done.out
    assert 'evil"]-->n1["x<script>' in html.unescape(done.out)


@pytest.mark.parametrize("text", [EVIL, "", "plain text", "\\", '"', "#35;", "a|b", "`x`"])
def test_escapers_round_trip(text: str) -> None:
    mermaid = escape_mermaid(text)
    assert re.fullmatch(r"[A-Za-z0-9 _./,:=+()\-#;]*", mermaid)
    assert _unmermaid(mermaid) == text
    dot = escape_dot(text)
    assert re.fullmatch(r'(?:[^"\\]|\\.)*', dot, re.S)
    assert re.sub(r"\\(.)", r"\1", dot) == text

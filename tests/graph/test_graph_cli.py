"""`qv graph`: the inheritance of documents as Mermaid, DOT and SVG, from the real CLI on the
starter project (a real Git repository); bad input gives exit 2, a broken tree exit 1, a missing
Graphviz exit 3 saying what to install."""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Qv = Callable[..., Any]
Repo = Any
NODE = re.compile(r'^  n\d+\["[^"\n]*"\]$')
EDGE = re.compile(r"^  n\d+ -->(\|[^|\n]*\|)? n\d+$")
STYLE = re.compile(r"^  (classDef [a-z]+ [a-z0-9:#,\-]+|class (n\d+,)*n\d+ [a-z]+)$")


def mermaid_lines_ok(text: str) -> None:
    """Every line is one of the statements qv writes: no label broke out of its quotes."""
    first, *rest = text.rstrip("\n").split("\n")
    assert first == "flowchart LR"
    for line in rest:
        assert NODE.match(line) or EDGE.match(line) or STYLE.match(line), line


def test_mermaid_shows_templates_document_overlay_and_fields(repo: Repo, qv: Qv) -> None:
    repo.write(
        "environments/dev/configs/example-service.yaml",
        (repo.root / "environments/dev/configs/example-service.yaml")
        .read_text()
        .replace("max_order_notional: 100000", "max_order_notional: 100000\n  log_level: debug"),
    )
    done = qv(repo.root, "graph", "--env", "dev", "config/example-service")
    assert done.code == 0, done.err
    mermaid_lines_ok(done.out)
    labels = dict(re.findall(r'^  (n\d+)\["([^"]*)"\]$', done.out, re.M))
    by_title = {label.split("<br/>")[0]: node for node, label in labels.items()}
    base, python = by_title["template service/base"], by_title["template service/python"]
    document = by_title["document environments/dev/configs/example-service.yaml"]
    effective = by_title["dev/config/example-service"]
    assert f"  {base} --> {python}" in done.out
    assert f"  {python} --> {document}" in done.out
    assert f"  {document} --> {effective}" in done.out
    assert "sets: spec.region, spec.replicas<br/>overridden: spec.log_level" in labels[base]
    assert "spec.runtime.kind" in labels[python]


def test_overlay_edge_and_dot(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "graph", "--env", "dev", "strategy/*", "--format", "dot")
    assert done.code == 0, done.err
    assert done.out.startswith("digraph qv {\n")
    assert 'label="overlay environments/dev/strategies/example-momentum.yaml\\l' in done.out
    assert re.search(r'n\d+ -> n\d+ \[label="overlay"\];', done.out)
    assert "sets: spec.activation" in done.out


def test_whole_environment_and_revision(repo: Repo, qv: Qv) -> None:
    whole = qv(repo.root, "graph", "--env", "prod")
    assert whole.code == 0, whole.err
    mermaid_lines_ok(whole.out)
    for key in ("prod/config/example-service", "prod/strategy/example-momentum"):
        assert f'["{key}"]' in whole.out
    repo.replace("templates/service/python.yaml", "runtime:", "python_runtime:")
    at_head = qv(repo.root, "graph", "--env", "prod", "--rev", "HEAD")
    assert at_head.out == whole.out  # the work-tree edit is not in HEAD


def dot_or_skip() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Graphviz (dot) is missing: make test installs it")
        pytest.skip("Graphviz (dot) is not installed")


def test_svg_with_graphviz(repo: Repo, qv: Qv) -> None:
    dot_or_skip()
    done = qv(repo.root, "graph", "--env", "dev", "--format", "svg")
    assert done.code == 0, done.err
    assert "<svg" in done.out
    assert "dev/strategy/example-momentum" in html.unescape(done.out)


def test_svg_without_graphviz_is_exit_3_naming_it(
    repo: Repo, qv: Qv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    done = qv(repo.root, "graph", "--env", "dev", "--format", "svg")
    assert done.code == 3
    assert "Graphviz" in done.err
    assert "install graphviz" in done.err
    assert done.out == ""


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("graph", "--env", "dev", "--format", "png"), "unknown --format 'png'"),
        (("graph", "--env", "nope"), "unknown environment 'nope'"),
        (("graph", "--env", "Bad Name"), "Bad Name"),
        (("graph", "--env", "dev", "strategy/nothing-here"), "strategy/nothing-here"),
        (("graph",), "--env"),
    ],
)
def test_bad_input_is_a_usage_error(repo: Repo, qv: Qv, args: tuple[str, ...], words: str) -> None:
    done = qv(repo.root, *args)
    assert done.code == 2, (done.out, done.err)
    assert words in done.err
    assert done.out == ""


def test_a_broken_document_is_exit_1_with_its_finding(repo: Repo, qv: Qv) -> None:
    repo.write("environments/dev/configs/example-service.yaml", "kind: Config\nspec: [unclosed\n")
    done = qv(repo.root, "graph", "--env", "dev")
    assert done.code == 1
    assert "example-service.yaml" in done.err
    assert done.out == ""


def test_help_lists_the_formats(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "graph", "--help")
    assert done.code == 0
    assert "mermaid | dot | svg" in done.out

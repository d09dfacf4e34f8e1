"""`qv review --graph`: a template edit, and the graph of every document it touches in each
environment, the template outlined; `build_graph` on a diamond of templates."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from qv_config.graph import build_graph
from qv_config.render import render_environment
from qv_config.repo import WorkTreeSource, load_snapshot

Qv = Callable[..., Any]
Repo = Any


def test_review_embeds_what_a_template_edit_touches(repo: Repo, qv: Qv) -> None:
    repo.replace("templates/service/python.yaml", "replicas * 2", "replicas * 3")
    done = qv(repo.root, "review", "--base", "HEAD", "--format", "markdown", "--graph")
    assert done.code == 0, done.err
    blocks = re.findall(r"```mermaid\n(.*?)```", done.out, re.S)
    assert len(blocks) == 3  # dev, staging, prod: each has the service config
    for env, block in zip(("dev", "staging", "prod"), blocks, strict=True):
        nodes = dict(re.findall(r'^  (n\d+)\["([^"]*)"\]$', block, re.M))
        changed = re.search(r"^  class ([n0-9,]+) changed$", block, re.M)
        assert changed is not None
        assert [nodes[n].split("<br/>")[0] for n in changed.group(1).split(",")] == [
            "template service/python"
        ]
        assert f'["{env}/config/example-service"]' in block
        assert "example-momentum" not in block  # untouched documents are not drawn


def test_review_without_changes_draws_nothing(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "review", "--base", "HEAD", "--format", "markdown", "--graph")
    assert done.code == 0, done.err
    assert "```mermaid" not in done.out


def test_graph_needs_markdown(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "review", "--base", "HEAD", "--graph")
    assert done.code == 2
    assert "--format markdown" in done.err


def test_diamond_of_templates(repo: Repo) -> None:
    repo.write("templates/c.yaml", "spec: {a: 1, b: 1, c: 1}\n")
    repo.write("templates/l.yaml", "extends: [c]\nspec: {a: 2}\n")
    repo.write("templates/r.yaml", "extends: [c]\nspec: {b: 3}\n")
    repo.write(
        "environments/dev/configs/d.yaml",
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: d}\nextends: [l, r]\nspec: {b: 4}\n",
    )
    rendered = render_environment(load_snapshot(WorkTreeSource(repo.root)), "dev", ["config/d"])
    graph = build_graph("dev", rendered.docs.values(), changed={"templates/c.yaml"})
    nodes = {n.key: n for n in graph.nodes}
    edges = {(e.source, e.target) for e in graph.edges}
    doc = "environments/dev/configs/d.yaml"
    assert edges == {
        ("templates/c.yaml", "templates/l.yaml"),
        ("templates/c.yaml", "templates/r.yaml"),
        ("templates/l.yaml", doc),
        ("templates/r.yaml", doc),
        (doc, "effective:dev/config/d"),
    }
    assert (nodes["templates/c.yaml"].sets, nodes["templates/c.yaml"].overridden) == (
        ("spec.c",),
        ("spec.a", "spec.b"),
    )
    assert nodes["templates/r.yaml"].overridden == ("spec.b",)
    assert nodes["templates/c.yaml"].changed
    assert not nodes["templates/l.yaml"].changed

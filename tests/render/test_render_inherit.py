"""Inheritance and structure errors (SPEC §3.2): linearisation order, QV201-203, QV210-213, QV220,
each at file:line of the offending value, every problem reported, the rest still rendered."""

from __future__ import annotations

from typing import Any

from qv_config.findings import Finding
from qv_config.render import render_environment

HEAD = "apiVersion: qv/v1\nkind: Strategy\n"


def _one(findings: tuple[Finding, ...], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, findings
    return matching[0]


def test_diamond_linearisation_order(tree: Any, snap: Any) -> None:
    files = {
        "templates/c.yaml": "spec: {order: [c], c: 1, who: c}\n",
        "templates/a.yaml": "extends: [c]\nspec: {order: [a], who: a}\n",
        "templates/b.yaml": "extends: [c]\nspec: {who: b}\n",
        "strategies/d.yaml": HEAD + "metadata: {name: d}\nextends: [a, b]\nspec: {x: 1}\n",
    }
    doc = render_environment(snap(tree(files)), "dev").docs["dev/strategy/d"]
    assert [layer.label for layer in doc.layers] == ["c", "a", "b", "strategies/d.yaml"]
    assert [layer.role for layer in doc.layers] == ["template", "template", "template", "base"]
    assert doc.data["spec"] == {"order": ["a"], "c": 1, "who": "b", "x": 1}


def test_cycle_is_reported_with_its_chain(tree: Any, snap: Any) -> None:
    files = {
        "templates/strategy/a.yaml": "extends: [strategy/b]\n",
        "templates/strategy/b.yaml": "spec: {}\nextends:\n  - strategy/a\n",
        "strategies/x.yaml": HEAD + "metadata: {name: x}\nextends: [strategy/a]\n",
    }
    rendered = render_environment(snap(tree(files)), "dev")
    finding = _one(rendered.findings, "QV210")
    assert "extends cycle: strategy/a -> strategy/b -> strategy/a" in finding.message
    assert (finding.file, finding.line) == ("templates/strategy/b.yaml", 3)
    assert (finding.env, finding.kind, finding.name) == ("dev", "Strategy", "x")
    assert "dev/strategy/x" not in rendered.docs
    assert "dev/environment/dev" in rendered.docs  # the rest is still rendered


def test_self_cycle(tree: Any, snap: Any) -> None:
    files = {
        "templates/a.yaml": "extends: [a]\n",
        "strategies/x.yaml": HEAD + "metadata: {name: x}\nextends: [a]\n",
    }
    finding = _one(render_environment(snap(tree(files)), "dev").findings, "QV210")
    assert "a -> a" in finding.message


def test_missing_template_suggests_close_names(tree: Any, snap: Any) -> None:
    files = {"strategies/x.yaml": HEAD + "metadata: {name: x}\nextends:\n  - strategy/equty\n"}
    finding = _one(render_environment(snap(tree(files)), "dev").findings, "QV211")
    assert "strategy/equty" in finding.message
    assert "did you mean strategy/equity" in finding.message
    assert (finding.file, finding.line, finding.field) == ("strategies/x.yaml", 5, "extends[0]")


def test_extends_in_overlay(tree: Any, snap: Any) -> None:
    files = {
        "environments/prod/strategies/momentum-eu.yaml": "spec: {}\nextends: [strategy/base]\n"
    }
    rendered = render_environment(snap(tree(files)), "prod")
    finding = _one(rendered.findings, "QV212")
    assert (finding.file, finding.line) == ("environments/prod/strategies/momentum-eu.yaml", 2)
    assert finding.name == "momentum-eu"
    assert "prod/strategy/momentum-eu" not in rendered.docs


def test_overlay_identity_must_match(tree: Any, snap: Any) -> None:
    files = {"environments/prod/strategies/momentum-eu.yaml": "metadata:\n  name: other\n"}
    finding = _one(render_environment(snap(tree(files)), "prod").findings, "QV213")
    assert "'other'" in finding.message
    assert "'momentum-eu'" in finding.message
    assert (finding.line, finding.field) == (2, "metadata.name")


def test_duplicate_kind_and_name_names_both_files(tree: Any, snap: Any) -> None:
    files = {"environments/prod/more/dup.yaml": HEAD + "metadata:\n  name: momentum-eu\n"}
    rendered = render_environment(snap(tree(files)), "prod")
    finding = _one(rendered.findings, "QV220")
    assert "strategies/momentum-eu.yaml" in finding.message
    assert "environments/prod/more/dup.yaml" in finding.message
    assert (finding.file, finding.line) == ("environments/prod/more/dup.yaml", 4)
    assert "prod/strategy/momentum-eu" in rendered.docs  # the first one is kept


def test_envelope_errors_are_all_reported(tree: Any, snap: Any) -> None:
    files = {
        "strategies/v.yaml": "apiVersion: qv/v2\nkind: Strategy\nmetadata: {name: v}\n",
        "strategies/k.yaml": "apiVersion: qv/v1\nkind: Stratgy\nmetadata: {name: k}\n",
        "strategies/n.yaml": "apiVersion: qv/v1\nkind: Strategy\nmetadata:\n  name: Bad_Name\n",
        "strategies/m.yaml": "kind: Strategy\nmetadata: {name: m}\n",
    }
    rendered = render_environment(snap(tree(files)), "dev")
    by_code = {(f.code, f.file): f for f in rendered.findings}
    assert by_code[("QV201", "strategies/v.yaml")].line == 1
    assert "missing" in by_code[("QV201", "strategies/m.yaml")].message
    kind = by_code[("QV202", "strategies/k.yaml")]
    assert kind.line == 2
    assert "did you mean Strategy" in kind.message
    assert by_code[("QV203", "strategies/n.yaml")].line == 4
    assert "dev/strategy/momentum-eu" in rendered.docs


def test_template_may_supply_envelope(tree: Any, snap: Any) -> None:
    files = {
        "templates/env.yaml": "apiVersion: qv/v1\nkind: Flag\n",
        "environments/dev/f.yaml": "metadata: {name: f}\nextends: [env]\nspec: {}\n",
    }
    assert "dev/flag/f" in render_environment(snap(tree(files)), "dev").docs


def test_template_linearisation_is_cached_per_snapshot(tree: Any, snap: Any) -> None:
    from qv_config.render.inherit import cache_for

    snapshot = snap(tree())
    render_environment(snapshot, "dev")
    cache = cache_for(snapshot)
    assert cache.linear["strategy/equity"] == ("strategy/base", "strategy/equity")
    render_environment(snapshot, "prod")
    assert cache_for(snapshot) is cache


def test_misnamed_environment_yaml_is_qv204(tree: Any, snap: Any) -> None:
    files = {
        "environments/prod/environment.yaml": "apiVersion: qv/v1\nkind: Environment\n"
        "metadata:\n  name: dev\nspec: {tier: prod}\n"
    }
    rendered = render_environment(snap(tree(files)), "prod")
    finding = _one(rendered.findings, "QV204")
    assert (finding.file, finding.line) == ("environments/prod/environment.yaml", 4)
    assert "prod/environment/dev" not in rendered.docs


def test_documents_extending_the_same_templates_share_the_chain_but_not_its_errors(
    tree: Any, snap: Any
) -> None:
    """The chain of an ``extends`` list is worked out once; one that fails is reported for each
    document that names it."""
    files = {
        "templates/c.yaml": "spec: {c: 1}\n",
        "templates/a.yaml": "extends: [c]\nspec: {a: 1}\n",
        "strategies/x.yaml": HEAD + "metadata: {name: x}\nextends: [a]\nspec: {x: 1}\n",
        "strategies/y.yaml": HEAD + "metadata: {name: y}\nextends: [a]\nspec: {y: 1}\n",
        "strategies/m.yaml": HEAD + "metadata: {name: m}\nextends: [nope]\n",
        "strategies/n.yaml": HEAD + "metadata: {name: n}\n\nextends: [nope]\n",
    }
    rendered = render_environment(snap(tree(files)), "dev")
    for name in ("x", "y"):
        doc = rendered.docs[f"dev/strategy/{name}"]
        assert [layer.label for layer in doc.layers] == ["c", "a", f"strategies/{name}.yaml"]
    missing = sorted((f.name, f.file, f.line) for f in rendered.findings if f.code == "QV211")
    assert missing == [("m", "strategies/m.yaml", 4), ("n", "strategies/n.yaml", 5)]

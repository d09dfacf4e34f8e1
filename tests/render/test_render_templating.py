"""Templating (SPEC §3.4): context, native types, undefined names, sandbox escapes, syntax."""

from __future__ import annotations

from typing import Any

import pytest

from qv_config.render import render_environment

FLAG_HEAD = "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: t, owner: ops}\nspec:\n"


def _flag(spec: str) -> dict[str, str | None]:
    return {"environments/prod/flags/t.yaml": FLAG_HEAD + spec}


def test_native_types_and_strings(tree: Any, snap: Any) -> None:
    spec = """\
  i: "{{ env.vars.capital // 1000 }}"
  f: "{{ env.vars.capital * 0.1 }}"
  b: "{{ env.tier == 'prod' }}"
  l: "{{ [env.vars.region, 'x'] }}"
  d: "{{ {'r': env.vars.region} }}"
  s: "region {{ env.vars.region }}"
  loop: "{% for v in ['a', 'b'] %}{{ v }}{% endfor %}"
  plain: "no template { here }"
  names: "{{ project.name }}/{{ project.environments | join(',') }}/{{ doc.name }}/{{ doc.owner }}"
  envname: "{{ env.name }}"
"""
    data = render_environment(snap(tree(_flag(spec))), "prod").docs["prod/flag/t"].data["spec"]
    assert data["i"] == 250000
    assert type(data["i"]) is int
    assert data["f"] == 25000000.0
    assert type(data["f"]) is float
    assert data["b"] is True
    assert data["l"] == ["eu-west-1", "x"]
    assert data["d"] == {"r": "eu-west-1"}
    assert data["s"] == "region eu-west-1"
    assert data["loop"] == "ab"
    assert data["plain"] == "no template { here }"
    assert data["names"] == "quantivista/dev,prod/t/ops"
    assert data["envname"] == "prod"


def test_env_vars_come_from_the_rendered_environment(tree: Any, snap: Any) -> None:
    files = {
        "environments/prod/environment.yaml": """\
        apiVersion: qv/v1
        kind: Environment
        metadata: {name: prod}
        spec:
          tier: prod
          vars: {region: eu-west-1, db: "pg-{{ env.vars.region }}", capital: 10}
        """,
        **_flag("  db: '{{ env.vars.db }}'\n"),
    }
    rendered = render_environment(snap(tree(files)), "prod")
    assert rendered.findings == ()
    assert rendered.docs["prod/flag/t"].data["spec"]["db"] == "pg-eu-west-1"
    assert rendered.environment is not None
    assert rendered.environment.data["spec"]["vars"]["db"] == "pg-eu-west-1"


def test_undefined_variable_located_at_the_layer_that_set_it(tree: Any, snap: Any) -> None:
    files = {
        "templates/strategy/base.yaml": """\
        apiVersion: qv/v1
        kind: Strategy
        spec:
          a: 1
          host: "{{ env.vars.db_host }}"
        """
    }
    rendered = render_environment(snap(tree(files)), "prod")
    finding = next(f for f in rendered.findings if f.code == "QV230")
    assert "env.vars.db_host" in finding.message
    assert (finding.file, finding.line) == ("templates/strategy/base.yaml", 5)
    assert (finding.env, finding.kind, finding.name) == ("prod", "Strategy", "momentum-eu")
    assert finding.field == "spec.host"
    assert "prod/strategy/momentum-eu" not in rendered.docs


@pytest.mark.parametrize(
    "expr",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% include '/etc/passwd' %}",
        "{% import 'x.j2' as x %}",
        "{{ env['__class__'] }}",
        "{{ env | attr('_secret') }}",
    ],
)
def test_sandbox_escapes_are_qv231(tree: Any, snap: Any, expr: str) -> None:
    rendered = render_environment(snap(tree(_flag(f'  bad: "{expr}"\n'))), "prod")
    finding = next(f for f in rendered.findings if f.file == "environments/prod/flags/t.yaml")
    assert finding.code == "QV231", finding
    assert finding.line == 5
    assert "prod/flag/t" not in rendered.docs


@pytest.mark.parametrize("name", ["lipsum", "joiner", "namespace", "cycler"])
def test_unsafe_globals_are_removed(tree: Any, snap: Any, name: str) -> None:
    rendered = render_environment(snap(tree(_flag(f"  x: '{{{{ {name}() }}}}'\n"))), "prod")
    assert [f.code for f in rendered.findings] == ["QV230"]


def test_random_filter_is_refused_rendering_stays_deterministic(tree: Any, snap: Any) -> None:
    # The same files must render the same desired state (digests, drift, the caches).
    rendered = render_environment(snap(tree(_flag("  x: \"{{ ['a', 'b'] | random }}\"\n"))), "prod")
    finding = next(f for f in rendered.findings if f.file == "environments/prod/flags/t.yaml")
    assert finding.code == "QV232"
    assert "No filter named 'random'" in finding.message
    assert "deterministic" in finding.message


def test_syntax_and_evaluation_errors_are_qv232(tree: Any, snap: Any) -> None:
    spec = "  a: '{{ env.vars.region'\n  b: '{{ 1 / 0 }}'\n  c: '{% if %}'\n"
    rendered = render_environment(snap(tree(_flag(spec))), "prod")
    assert sorted((f.code, f.line) for f in rendered.findings) == [
        ("QV232", 5),
        ("QV232", 6),
        ("QV232", 7),
    ]


def test_every_problem_of_a_document_is_reported(tree: Any, snap: Any) -> None:
    spec = "  a: '{{ nope }}'\n  b: '{{ x.__class__ }}'\n  c: ok\n"
    rendered = render_environment(snap(tree(_flag(spec))), "prod")
    assert sorted(f.code for f in rendered.findings) == ["QV230", "QV231"]


def test_non_finite_numbers_are_rejected(tree: Any, snap: Any) -> None:
    rendered = render_environment(snap(tree(_flag("  a: .inf\n  b: '{{ 1e308 * 10 }}'\n"))), "prod")
    assert sorted((f.code, f.line) for f in rendered.findings) == [("QV303", 5), ("QV303", 6)]


def test_same_template_in_many_documents_each_gets_its_doc(tree: Any, snap: Any) -> None:
    files: dict[str, str | None] = {
        "templates/f.yaml": "apiVersion: qv/v1\nkind: Flag\nspec: {id: '{{ doc.name }}', "
        "r: '{{ env.vars.region }}'}\n"
    }
    for n in range(3):
        files[f"environments/dev/f{n}.yaml"] = f"metadata: {{name: f{n}}}\nextends: [f]\n"
    docs = render_environment(snap(tree(files)), "dev").docs
    assert [docs[f"dev/flag/f{n}"].data["spec"]["id"] for n in range(3)] == ["f0", "f1", "f2"]
    assert {docs[f"dev/flag/f{n}"].data["spec"]["r"] for n in range(3)} == {"eu-dev-1"}

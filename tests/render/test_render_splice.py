"""Strings mixing text and ``{{ expr }}`` are rendered by compiling each expression once: the
result, the errors and their messages are those of Jinja compiling the whole string."""

from __future__ import annotations

from typing import Any

import pytest

from qv_config.render import bounds, render_environment
from qv_config.render.sandbox import Compiled, TemplateProblem, _compile_whole, compile_template

CONTEXT: dict[str, Any] = {
    "env": {
        "name": "dev",
        "tier": "dev",
        "vars": {"region": "eu", "n": 3, "f": 1.5, "l": [1, 2], "none": None, "d": {"a": 1}},
    },
    "project": {"name": "p", "environments": ["dev"]},
    "doc": {"name": "x"},
}

STRINGS = [
    "postgres://{{ env.vars.region }}:5432/svc_0001",
    "a {{ env.vars.n }} b {{ env.vars.f }} c",
    "{{ env.vars.l }}-{{ env.vars.none }}-{{ env.vars.d }}",
    "{{ doc.name }}.{{ env.name }}",
    "x {{ env.vars.n * 2 }} {{ env.vars.n > 2 }} {{ range(3) | list }} {{ env.vars.region|upper }}",
    "} {{ env.name }} {",
    "x{{ env.vars.nope }}",
    "x{{ env.__class__ }}",
    "x{{ env['_x'] }}",
    "x{{ 1/0 }}",
    "x {{ cycler }}",
    "x {{ 'a' * 100000000 }}",
    "x {{ env.vars.region",
    "{{- env.name -}} y",
    "x {{ '}}' }}",
    "x {# c #}{{ env.name }}",
    "x {{ env.name }}\n",
    "{{ env.vars.n }}",
]


def _outcome(compiled: Compiled | TemplateProblem) -> tuple[Any, ...]:
    if isinstance(compiled, TemplateProblem):
        return ("problem", compiled.code, compiled.message)
    try:
        return ("value", compiled.run(CONTEXT), compiled.uses_doc)
    except TemplateProblem as problem:
        return ("problem", problem.code, problem.message)


@pytest.mark.parametrize("text", STRINGS)
def test_spliced_equals_whole_string_compile(text: str) -> None:
    assert _outcome(compile_template(text)) == _outcome(_compile_whole(text))


def test_many_distinct_strings_render_through_the_pipeline(tree: Any, snap: Any) -> None:
    head = "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: t, owner: ops}\nspec:\n"
    body = "".join(
        f"  k{i}: 'db-{i}.{{{{ env.vars.region }}}}:{{{{ env.name }}}}'\n" for i in range(50)
    )
    files = {"environments/prod/flags/t.yaml": head + body}
    spec = render_environment(snap(tree(files)), "prod").docs["prod/flag/t"].data["spec"]
    assert spec["k7"] == "db-7.eu-west-1:prod"
    assert len(set(spec.values())) == 50


def _kept_outcome(text: str, kept: dict[str, str]) -> tuple[Any, ...]:
    compiled = compile_template(text)
    if isinstance(compiled, TemplateProblem) or compiled.run_kept is None:
        return _outcome(compiled)
    budget = bounds.begin(bounds.DEFAULT_LIMITS)
    try:
        return ("value", compiled.run_kept(CONTEXT, kept), compiled.uses_doc)
    except TemplateProblem as problem:
        return ("problem", problem.code, problem.message)
    finally:
        bounds.end(budget)


@pytest.mark.parametrize("text", STRINGS)
def test_kept_expressions_give_the_whole_string_compile(text: str) -> None:
    """The text of an expression kept from one string serves the next (the same context): the
    value and every problem stay those of Jinja compiling the whole string, first and again."""
    kept: dict[str, str] = {}
    whole = _outcome(_compile_whole(text))
    assert _kept_outcome(text, kept) == whole
    assert _kept_outcome(text, kept) == whole
    assert _kept_outcome(f"again {text.rstrip()} !", kept) == _outcome(
        _compile_whole(f"again {text.rstrip()} !")
    )


def test_only_expressions_without_doc_and_steps_are_kept() -> None:
    kept: dict[str, str] = {}
    text = "{{ doc.name }} {{ env.vars.region }} {{ env.vars.n * 2 }} {{ range(2) | list }}"
    assert _kept_outcome(text, kept)[1] == "x eu 6 [0, 1]"
    assert kept == {" env.vars.region ": "eu"}  # a step (operator, call, filter) is not kept


def test_kept_expressions_count_the_same_steps() -> None:
    """An expression that takes steps runs in every document: the budget sees each of them."""
    kept: dict[str, str] = {}
    compiled = compile_template("a {{ env.vars.n * 2 }} b {{ env.vars.region }}")
    assert isinstance(compiled, Compiled)
    assert compiled.run_kept is not None
    for _ in range(3):
        budget = bounds.begin(bounds.DEFAULT_LIMITS)
        try:
            compiled.run_kept(CONTEXT, kept)
            assert bounds.current().steps == 1
        finally:
            bounds.end(budget)


def test_the_walker_keeps_expressions_per_context(tree: Any, snap: Any) -> None:
    """Documents of one environment share the kept text; another environment renders its own."""
    body = "spec:\n  url: 'pg://{{ env.vars.region }}/{{ doc.name }}'\n"
    files = {
        f"environments/{env}/flags/t{i}.yaml": (
            f"apiVersion: qv/v1\nkind: Flag\nmetadata: {{name: t{i}, owner: ops}}\n{body}"
        )
        for env in ("dev", "prod")
        for i in range(3)
    }
    files["environments/dev/environment.yaml"] = (
        "apiVersion: qv/v1\nkind: Environment\nmetadata: {name: dev}\n"
        "spec: {tier: dev, vars: {region: us-east-1}}\n"
    )
    snapshot = snap(tree(files))
    for env, region in (("dev", "us-east-1"), ("prod", "eu-west-1")):
        docs = render_environment(snapshot, env).docs
        urls = [docs[f"{env}/flag/t{i}"].data["spec"]["url"] for i in range(3)]
        assert urls == [f"pg://{region}/t{i}" for i in range(3)]

"""Strings mixing text and ``{{ expr }}`` are rendered by compiling each expression once: the
result, the errors and their messages are those of Jinja compiling the whole string."""

from __future__ import annotations

from typing import Any

import pytest

from qv_config.render import render_environment
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

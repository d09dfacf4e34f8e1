"""Templates are bounded (render/bounds.py): time (QV233) and size (QV234) per document.

Before, each hostile template below ran for minutes or allocated gigabytes (or was stopped only
by a fixed repetition bound): string padding, format widths, replace amplification, nested loops,
huge powers, join of big lists, recursive macros. Each is now a finding at its file:line, found
in well under a second, and the document is left out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.render.conftest import QV_YAML

from qv_config.render import render_environment
from qv_config.render.bounds import MAX_STEPS

FILE = "environments/prod/flags/t.yaml"
FLAG_HEAD = "apiVersion: qv/v1\nkind: Flag\nmetadata: {name: t, owner: ops}\nspec:\n"
NESTED = "{% set x = ['y' * 1000] %}" + "{% set x = [x, x] %}" * 12
LOOP = "{% for i in range(100) %}{{ 'x' * 1000000 }}{% endfor %}"  # 100 MB of output
# Each of these made a value of 100 MB or more before its size was checked: widths or fields
# taken once instead of summed, amplifications not estimated, text captured without a bound.
MADE_BEFORE_CHECKED: list[tuple[str, str, str]] = [
    ("tojson indent", "{{ range(400) | list | tojson(indent=1000000) }}", "QV234"),
    ("percent widths summed", "{{ ('%1000000s' * 400) % (('x',) * 400) }}", "QV234"),
    (
        "percent widths of bytes",
        "{{ ('%1000000s' * 400).encode() % (('x'.encode(),) * 400) }}",
        "QV234",
    ),
    ("percent key repeated", "{{ ('%(a)s' * 400) % {'a': 'x' * 1000000} }}", "QV234"),
    ("format filter key repeated", "{{ ('%(a)s' * 400) | format(a='x' * 1000000) }}", "QV234"),
    ("str.format widths summed", "{{ ('{0:>1000000}' * 400).format('x') }}", "QV234"),
    ("str.format field repeated", "{{ ('{0}' * 400).format('x' * 1000000) }}", "QV234"),
    ("format_map field repeated", "{{ ('{a}' * 400).format_map({'a': 'x' * 10**6}) }}", "QV234"),
    ("translate", "{{ ('a' * 400).translate({97: 'x' * 1000000}) }}", "QV234"),
    ("urlize target", "{{ ('www.x.com ' * 400) | urlize(target='y' * 1000000) }}", "QV234"),
    ("~ chain", "{% set b = 'x' * 1000000 %}{{ b" + " ~ b" * 100 + " }}", "QV234"),
    ("set block", f"{{% set b %}}{LOOP}{{% endset %}}{{{{ b | length }}}}", "QV234"),
    ("macro body", f"{{% macro m() %}}{LOOP}{{% endmacro %}}{{{{ m() | length }}}}", "QV234"),
    (
        "call block",
        f"{{% macro m() %}}{{{{ caller() | length }}}}{{% endmacro %}}"
        f"{{% call m() %}}{LOOP}{{% endcall %}}",
        "QV234",
    ),
    ("filter block capture", f"{{% filter length %}}{LOOP}{{% endfilter %}}", "QV234"),
    ("recursive loop", LOOP.replace("%}", " recursive %}", 1), "QV234"),
    (
        "items of a filter pipeline",
        "{% set b = 'x' * 1000000 %}{{ [" + ", ".join(["b"] * 200) + "] | map('lower') | join }}",
        "QV234",
    ),
]
HOSTILE: list[tuple[str, str, str]] = [
    ("repetition", "{{ 'x' * 10**9 }}", "QV234"),
    ("repetition in text", "a{{ 'x' * 10**9 }}", "QV234"),
    ("center method", "{{ 'x'.center(10**9) }}", "QV234"),
    ("ljust method", "{{ 'x'.ljust(999999999) }}", "QV234"),
    ("rjust in text", "a {{ 'x'.rjust(999999999) }}", "QV234"),
    ("zfill", "{{ '1'.zfill(999999999) }}", "QV234"),
    ("center filter", "{{ 'x' | center(999999999) }}", "QV234"),
    ("filter block", "{% filter center(10**9) %}x{% endfilter %}", "QV234"),
    ("percent width", "{{ '%999999999s' % 'x' }}", "QV234"),
    ("percent precision", "{{ '%.999999999f' % 1.0 }}", "QV234"),
    ("percent star width", "{{ '%*s' % (999999999, 'x') }}", "QV234"),
    ("format filter", "{{ '%999999999s' | format('x') }}", "QV234"),
    ("str.format width", "{{ '{:>999999999}'.format('x') }}", "QV234"),
    ("str.format nested width", "{{ '{:>{}}'.format('x', 999999999) }}", "QV234"),
    ("str.format precision", "{{ '{:.999999999f}'.format(1.0) }}", "QV234"),
    ("replace method", "{{ ('x' * 100000).replace('x', 'y' * 20) }}", "QV234"),
    ("replace filter", "{{ ('x' * 100000) | replace('x', 'y' * 20) }}", "QV234"),
    ("replace of empty", "{{ ('x' * 100000) | replace('', 'y' * 20) }}", "QV234"),
    ("join method", "{{ ('x' * 100).join(['ab'] * 100000) }}", "QV234"),
    ("join filter", "{{ (['x' * 100000] * 100) | join }}", "QV234"),
    ("indent", "{{ ('\\n' * 100000) | indent(100) }}", "QV234"),
    ("wordwrap", "{{ ('x' * 1000) | wordwrap(1, wrapstring='y' * 10000) }}", "QV234"),
    ("expandtabs", "{{ ('\\t' * 100000).expandtabs(100000) }}", "QV234"),
    ("to_bytes", "{{ (1).to_bytes(10**9, 'big') }}", "QV234"),
    ("batch", "{{ range(10) | batch(10**9, 'x') | list }}", "QV234"),
    ("slice", "{{ [1] | slice(10**9) | list }}", "QV234"),
    ("sum of lists", "{{ ([[1] * 1000] * 100) | sum(start=[]) }}", "QV234"),
    ("huge range", "{{ range(10**9) | list }}", "QV234"),
    ("huge range in a loop", "{% for i in range(10**9) %}{% endfor %}", "QV234"),
    ("huge power", "{{ 10 ** (10 ** 8) }}", "QV234"),
    ("power of a power", "{{ (2 ** 1000) ** 1000 }}", "QV234"),
    ("product of big ints", "{{ (7 ** 1000) * (7 ** 1000) * (7 ** 1000) }}", "QV234"),
    (
        "doubling with ~",
        "{% set x = 'x' * 100000 %}" + "{% set x = x ~ x %}" * 5 + "{{ x }}",
        "QV234",
    ),
    (
        "doubling with +",
        "{% set x = 'x' * 100000 %}" + "{% set x = x + x %}" * 5 + "{{ x }}",
        "QV234",
    ),
    ("shared list printed", NESTED + "{{ x }}", "QV234"),
    ("shared list as json", NESTED + "{{ x | tojson }}", "QV234"),
    ("loop output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", "QV234"),
    (
        "nested loops",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "QV233",
    ),
    (
        "nested loops printing",
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
        "QV233",
    ),
    (
        "macro fan-out",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "QV233",
    ),
    ("endless macro recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(1) }}", "QV233"),
    (
        "macro doubling its argument",
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{{ f('x', 60) }}",
        "QV234",
    ),
    *MADE_BEFORE_CHECKED,
    ("self", "{% if false %}{% block a %}x{% endblock %}{% endif %}{{ self.a() }}", "QV231"),
    ("wordwrap of a long word", "{{ ('x' * 500000) | wordwrap(1, wrapstring=' ') }}", "QV233"),
    ("range beyond a C size", "{{ range(10**30) | length }}", "QV234"),
]


def _flag(spec: str) -> dict[str, str | None]:
    return {FILE: FLAG_HEAD + spec}


def _yaml_string(template: str) -> str:
    return json.dumps(template)  # a JSON string is a YAML 1.2 double-quoted scalar


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("label", "template", "code"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_template_is_stopped_with_a_located_finding(
    tree: Any, snap: Any, label: str, template: str, code: str
) -> None:
    snapshot = snap(tree(_flag(f"  bad: {_yaml_string(template)}\n  ok: 1\n")))
    started = time.monotonic()
    rendered = render_environment(snapshot, "prod")
    took = time.monotonic() - started
    found = [f for f in rendered.findings if f.file == FILE]
    assert [(f.code, f.line, f.col, f.field) for f in found] == [(code, 5, 8, "spec.bad")], label
    assert "prod/flag/t" not in rendered.docs
    assert took < 10, f"{label}: {took:.1f} s"


def test_legitimate_templates_still_render(tree: Any, snap: Any) -> None:
    spec = """\
  a: "{{ [1, 2, 3] | map('string') | join(',') }}"
  b: "{{ '%05d' | format(42) }} {{ '{:>6}'.format('ab') }} {{ 'abc' | center(7) }}"
  c: "{{ 'a b' | replace(' ', '-') }} {{ 'x' * 3 }} {{ [0] * 3 }} {{ 2 ** 62 }}"
  d: "{% for i in range(3) %}{{ i }}{% endfor %}{% set s = 'q' %}{{ s ~ s }}"
  e: "{{ 'ab' + 'cd' }} {{ 7 % 3 }} {{ '%s-%s' % ('x', 'y') }} {{ 1.5 + 2 }}"
  f: "{{ ('x' * 1000) | wordwrap(100) | length }} {{ 'a\\nb' | indent(2) }}"
  g: "{{ '%(k)s-%(k)s' % {'k': 'ab'} }} {{ '%5s|%-3d' % ('x', 7) }}"
  h: "{{ '{0}{0}{1:>3}'.format('a', 'b') }} {{ '{a}{a}'.format_map({'a': 'q'}) }}"
  i: "{{ [1, [2]] | tojson(indent=2) }}"
  j: "{{ 'a&b'.translate({38: ' and '}) }} {{ 'see www.x.com' | urlize(target='_blank') }}"
  k: "{% set s %}{% for i in range(3) %}{{ i }}{% endfor %}{% endset %}{{ s ~ 1 ~ s }}"
  l: "{% macro m() %}<{{ caller() }}>{% endmacro %}{% call m() %}x{% endcall %}"
  m: "{% filter upper %}ab{% endfilter %}"
"""
    data = render_environment(snap(tree(_flag(spec))), "prod").docs["prod/flag/t"].data["spec"]
    assert data == {
        "a": "1,2,3",
        "b": "00042     ab   abc  ",
        "c": "a-b xxx [0, 0, 0] 4611686018427387904",
        "d": "012qq",
        "e": "abcd 1 x-y 3.5",
        "f": "1009 a\n  b",
        "g": "ab-ab     x|7  ",
        "h": "aa  b qq",
        "i": "[\n  1,\n  [\n    2\n  ]\n]",
        "j": 'a and b see <a href="https://www.x.com" rel="noopener" target="_blank">www.x.com</a>',
        "k": "0121012",
        "l": "<x>",
        "m": "AB",
    }


NON_FINITE = [
    ("{{ 'nan' | float }}", "QV303"),  # folded into the compiled code: a NameError before
    ("{{ 1e400 | round }}", "QV303"),
    ("{{ -1e400 }}", "QV303"),
    ("{{ ((doc.name ~ 'nan')[1:]) | float }}", "QV303"),  # the same value, not folded
    ("{{ ['nan' | float] }}", "QV408"),  # inside a list: as canonical JSON finds it
]


@pytest.mark.parametrize(("template", "code"), NON_FINITE)
def test_non_finite_numbers_are_the_finding_of_any_non_finite_number(
    tree: Any, snap: Any, template: str, code: str
) -> None:
    snapshot = snap(tree(_flag(f"  bad: {_yaml_string(template)}\n")))
    [finding] = [f for f in render_environment(snapshot, "prod").findings if f.file == FILE]
    assert (finding.code, finding.line) == (code, 5)
    assert finding.field in ("spec.bad", "spec.bad[0]")
    assert "NameError" not in finding.message


def test_one_slow_call_is_stopped_once_it_returns(tree: Any, snap: Any) -> None:
    """A filter the budget does not foresee (``title`` of 500,000 words: ~0.6 s) is one step:
    the clock is read when it returns, not only at the next step (there is none here)."""
    spec = "  a: \"{{ ('a-' * 500000) | title }}\"\n"
    finding = _finding_with(tree, snap, spec, "max_render_seconds: 0.1")
    assert (finding.code, finding.line) == ("QV233", 5)
    assert "longer than 0.1 s" in finding.message


def _qv_yaml(limits: str) -> dict[str, str | None]:
    return {"qv.yaml": QV_YAML + f"  limits: {{{limits}}}\n"}


def _finding_with(tree: Any, snap: Any, spec: str, limits: str) -> Any:
    """The one finding of the flag ``spec`` rendered under ``limits`` of qv.yaml."""
    rendered = render_environment(snap(tree({**_flag(spec), **_qv_yaml(limits)})), "prod")
    [finding] = [f for f in rendered.findings if f.file == FILE]
    return finding


def test_size_bound_comes_from_qv_yaml(tree: Any, snap: Any) -> None:
    spec = "  a: \"{{ 'x' * 3000 }}\"\n"
    assert "prod/flag/t" in render_environment(snap(tree(_flag(spec))), "prod").docs
    finding = _finding_with(tree, snap, spec, "max_render_bytes: 2000")
    assert finding.code == "QV234"
    assert "2,000" in finding.message
    assert "max_render_bytes" in finding.message


def test_time_bound_comes_from_qv_yaml(tree: Any, snap: Any) -> None:
    spec = "  a: \"{% for i in range(100000) %}{{ (i ~ '') | length }}{% endfor %}\"\n"
    finding = _finding_with(tree, snap, spec, "max_render_seconds: 0.01")
    assert finding.code == "QV233"
    assert "longer than 0.01 s" in finding.message


def test_step_bound_is_deterministic(tree: Any, snap: Any) -> None:
    """Nested loops stop at the step bound, whatever the machine's speed (time allowing)."""
    spec = '  a: "{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"\n'
    finding = _finding_with(tree, snap, spec, "max_render_seconds: 600")
    assert finding.code == "QV233"
    assert f"{MAX_STEPS:,} steps" in finding.message


def test_the_whole_rendered_document_is_bounded(tree: Any, snap: Any) -> None:
    """Values each within the bound that add up above it: reported where they pass it."""
    spec = "  small: \"{{ 'y' * 400000 }}\"\n  big: \"{{ 'x' * 700000 }}\"\n"
    rendered = render_environment(snap(tree(_flag(spec))), "prod")
    [finding] = [f for f in rendered.findings if f.file == FILE]
    assert (finding.code, finding.line, finding.field) == ("QV234", 6, "spec.big")
    assert "values come to 1,100,000 characters by here" in finding.message


def test_the_encoded_document_is_bounded_too(tree: Any, snap: Any) -> None:
    """Text without templates counts as well, once the document is encoded: at its largest part."""
    spec = f"  a: {'y' * 1000}\n  b: {'x' * 3000}\n"
    finding = _finding_with(tree, snap, spec, "max_render_bytes: 2000")
    assert (finding.code, finding.line, finding.field) == ("QV234", 6, "spec.b")
    assert "the rendered document is 4,097 bytes, above 2,000" in finding.message


def test_bounds_hold_in_a_thread_each_document_its_own_budget(tree: Any, snap: Any) -> None:
    """The agent renders in threads: the budget is per thread and per document."""
    spec = (
        '  a: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"\n'
    )
    files = {
        **_flag(spec),
        "environments/prod/flags/u.yaml": FLAG_HEAD.replace("t,", "u,")
        + ('  a: "{% for i in range(100000) %}{% endfor %}ok"\n'),
    }
    snapshot = snap(tree(files))
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(render_environment(snapshot, "prod")))
    worker.start()
    worker.join(60)
    [rendered] = out
    assert [f.code for f in rendered.findings if f.file == FILE] == ["QV233"]
    assert rendered.docs["prod/flag/u"].data["spec"]["a"] == "ok"  # a fresh budget of its own


@pytest.mark.parametrize("limits", ["max_render_seconds: 0", "max_render_bytes: -1"])
def test_bad_limits_in_qv_yaml_are_qv205(tree: Any, qv: Any, limits: str) -> None:
    run = qv(tree(_qv_yaml(limits)), "validate", "--format", "json")
    assert run.code == 1
    [found] = [f for f in json.loads(run.out)["findings"] if f["code"] == "QV205"]
    assert limits.split(":", maxsplit=1)[0] in found["message"]


def test_no_large_value_reaches_the_cache_or_the_store(tmp_path: Path) -> None:
    """Every hostile template at once, through the real CLI in a fresh process, twice (cold and
    warm, cached template code): findings each time, a small peak of Python allocations, small
    caches."""
    from qv_config.scaffold import write_starter

    root = tmp_path / "repo"
    write_starter(root)
    for i, (_label, template, _code) in enumerate(HOSTILE):  # one document each: one budget
        (root / f"environments/dev/configs/hostile-{i}.yaml").write_text(
            f"apiVersion: qv/v1\nkind: Config\nmetadata: {{name: hostile-{i}}}\n"
            f"spec:\n  t: {_yaml_string(template)}\n"
        )
    script = textwrap.dedent(
        """
        import sys, tracemalloc
        from qv_config.cli.__main__ import main
        tracemalloc.start()  # every allocation Python makes, the largest moment of the run
        try:
            main(["-C", sys.argv[1], "validate", "--env", "dev", "--format", "json"])
        except SystemExit as stop:
            code = stop.code
        peak = tracemalloc.get_traced_memory()[1] >> 20
        print(f"\\nexit={code} peak={peak}", file=sys.stderr)
        """
    )
    for _run in ("cold", "warm"):
        done = subprocess.run(
            [sys.executable, "-c", script, str(root)],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in done.stderr
        tail = done.stderr.strip().splitlines()[-1]
        assert tail.startswith("exit=1 "), done.stderr
        assert int(tail.split("peak=")[1]) < 64, tail  # MB: no 100 MB value was ever made
        codes = {f["name"]: f["code"] for f in json.loads(done.stdout)["findings"]}
        assert codes == {f"hostile-{i}": code for i, (_l, _t, code) in enumerate(HOSTILE)}
    cache = root / ".qv"
    sizes = [p.stat().st_size for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert max(sizes, default=0) < 1 << 20

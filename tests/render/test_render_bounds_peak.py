"""The peak memory of ``qv validate`` over templates that made a large value before its size was
checked (render/bounds.py): formatting with many fields or wide ones, ``tojson(indent=)``, text a
template captures (``{% set %}`` blocks, macros), and a small document printing a large variable
600 times (the whole document was built and encoded, ~1.1 GB, before QV234). Each now stops
before its text grows far past ``max_render_bytes``: the qv process stays near its usual size.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from tests.peakrss import run_measured

from qv_config.scaffold import write_starter

QV = str(Path(sys.executable).with_name("qv"))
MAX_RSS_MB = 200.0  # qv itself is ~50 MB; before, each of these made 400 MB to 1.1 GB
LOOP = "{% for i in range(400) %}{{ 'x' * 1000000 }}{% endfor %}"
TEMPLATES = {
    "tojson": "{{ range(400) | list | tojson(indent=1000000) }}",
    "widths": "{{ ('%1000000s' * 400) % (('x',) * 400) }}",
    "fields": "{{ ('{0}' * 400).format('x' * 1000000) }}",
    "translate": "{{ ('a' * 400).translate({97: 'x' * 1000000}) }}",
    "urlize": "{{ ('www.x.com ' * 400) | urlize(target='y' * 1000000) }}",
    "captured": f"{{% set b %}}{LOOP}{{% endset %}}{{{{ b | length }}}}",
    "macro": f"{{% macro m() %}}{LOOP}{{% endmacro %}}{{{{ m() | length }}}}",
}


def _config(name: str, spec: str) -> str:
    return f"apiVersion: qv/v1\nkind: Config\nmetadata: {{name: {name}, owner: x}}\nspec:\n{spec}"


def test_no_template_builds_a_value_far_above_the_bound(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_starter(root)
    configs = root / "environments/dev/configs"
    for name, template in TEMPLATES.items():
        (configs / f"{name}.yaml").write_text(_config(name, f"  t: {json.dumps(template)}\n"))
    env_file = root / "environments/dev/environment.yaml"
    env_file.write_text(
        env_file.read_text().replace("vars: {", "vars: {big: " + "y" * 900000 + ", ", 1)
    )
    refs = '    - "a{{ env.vars.big }}"\n' * 600  # 16 KB of YAML, 540 MB rendered
    (configs / "refs.yaml").write_text(_config("refs", "  v:\n" + refs))
    env = {key: value for key, value in os.environ.items() if not key.startswith("QV_")}
    with tempfile.TemporaryDirectory() as scratch:
        done = run_measured(
            [QV, "-C", str(root), "validate", "--no-cache", "--env", "dev", "--format", "json"],
            Path(scratch),
            env=env,
        )
    assert done.code == 1, done.err
    found = {f["name"]: (f["code"], f["line"]) for f in json.loads(done.out)["findings"]}
    assert found == {**dict.fromkeys(TEMPLATES, ("QV234", 5)), "refs": ("QV234", 7)}
    assert done.peak_rss_mb < MAX_RSS_MB, f"peak RSS {done.peak_rss_mb:.0f} MB"

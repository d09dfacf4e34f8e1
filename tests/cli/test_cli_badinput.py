"""Bad input through the real ``qv`` command, one subprocess per run (SPEC §4 and §10).

Every item of the core issue's bad-input list is run end to end: the finding code, its
file:line:col, the exit code, no traceback on either stream, and for the hostile inputs (alias
bombs, a 50 MB file) the peak resident memory of the qv process itself (``tests/peakrss.py``:
not the test process's, which Linux would hand down to a child it starts directly). The trees
are the case folders of tests/validate/cases (the in-process runner there checks the same
findings through ``--format json``); files too large to commit are generated in tmp_path.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.peakrss import run_measured

CASES = Path(__file__).parents[1] / "validate" / "cases"
QV = str(Path(sys.executable).with_name("qv"))
KILL_AFTER = 120  # a safety net against a hang, not a timing assertion
MAX_RSS_MB = 200.0

# Case folders holding one item of the list each (the new ones and those that existed).
BAD_CASES = [
    "qv101-malformed-yaml",
    "qv103-merge-key",
    "qv104-two-documents",
    "qv105-alias-bomb",
    "qv105-scalar-alias-bomb",
    "qv107-non-utf8",
    "qv202-unknown-kind",
    "qv210-extends-cycle",
    "qv212-extends-in-overlay",
    "qv220-duplicate-name",
    "qv230-qv231-templating",
    "qv301-misspelt-field",
    "stages-yaml-and-inheritance",  # duplicate key (QV102), missing template (QV211)
    "qv401-qv402-qv403-parameters",
    "qv501-qv502-qv505-dangling-references",
    "qv510-strategy-limit-above-policy",
    "qv520-capital-above-environment",
    "qv530-draft-active-in-prod",
]

# Cases whose findings all come from loading and rendering, which `qv render` reports too.
RENDER_CASES = {
    "qv101-malformed-yaml": "dev",
    "qv103-merge-key": "dev",
    "qv104-two-documents": "prod",
    "qv105-alias-bomb": "dev",
    "qv105-scalar-alias-bomb": "dev",
    "qv107-non-utf8": "prod",
    "qv202-unknown-kind": "dev",
    "qv210-extends-cycle": "prod",
    "qv212-extends-in-overlay": "prod",
    "qv220-duplicate-name": "dev",
    "qv230-qv231-templating": "dev",
    "stages-yaml-and-inheritance": "dev",
}

Key = tuple[str, str, int, int]  # code, file, line, col


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
    peak_rss_mb: float

    def assert_clean(self) -> None:
        """No traceback on either stream, and the process ended on its own."""
        assert "Traceback" not in self.out
        assert "Traceback" not in self.err
        assert self.code >= 0, f"qv was killed after {KILL_AFTER}s: it hangs"


def qv(root: Path, *args: str) -> Run:
    """Run ``qv -C root ARGS`` as a subprocess; returns its exit code, output and peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QV_")}
    env["NO_COLOR"] = "1"
    with tempfile.TemporaryDirectory() as scratch:
        done = run_measured(
            [QV, "-C", str(root), *args], Path(scratch), env=env, kill_after=KILL_AFTER
        )
    return Run(
        done.code,
        done.out.decode("utf-8", "replace"),
        done.err.decode("utf-8", "replace"),
        done.peak_rss_mb,
    )


def copy_case(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(CASES / name, dest, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
    return dest


def expected(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CASES / name / "expect.yaml").read_text())
    return data


def _key(f: dict[str, Any]) -> Key:
    return (f["code"], f["file"], int(f["line"]), int(f["col"]))


_ENTRY = re.compile(r"^ +(\d+):(\d+) +(?:error|warning) +(QV\d{3}) ")


def text_findings(out: str) -> set[Key]:
    """The findings of the text report: a file name line, then one indented line per finding."""
    found: set[Key] = set()
    file = ""
    for line in out.splitlines():
        if line and not line[0].isspace():
            file = line
        elif match := _ENTRY.match(line):
            found.add((match[3], file, int(match[1]), int(match[2])))
    return found


@pytest.mark.parametrize("name", BAD_CASES)
def test_validate_text_report_locates_each_finding(name: str, tmp_path: Path) -> None:
    expect = expected(name)
    run = qv(copy_case(name, tmp_path), "validate")
    run.assert_clean()
    assert run.code == expect["exit"], run.out + run.err
    assert text_findings(run.out) == {_key(f) for f in expect["findings"]}, run.out
    for finding in expect["findings"]:
        assert finding.get("message", "") in run.out


def _in_env(finding: dict[str, Any], env: str) -> bool:
    if finding["env"] is not None:
        return bool(finding["env"] == env)
    file = str(finding["file"])
    return not file.startswith("environments/") or file.startswith(f"environments/{env}/")


@pytest.mark.parametrize(("name", "env"), sorted(RENDER_CASES.items()))
def test_render_refuses_and_locates_each_finding(name: str, env: str, tmp_path: Path) -> None:
    run = qv(copy_case(name, tmp_path), "render", "--env", env, "--format", "json")
    run.assert_clean()
    assert run.code == 1
    assert run.out == ""  # nothing half-rendered on stdout
    for finding in (f for f in expected(name)["findings"] if _in_env(f, env)):
        code, file, line, col = _key(finding)
        assert f"{file}:{line}:{col}: {code} " in run.err, run.err


def refused_in_bounded_memory(root: Path, where: Key) -> dict[str, Any]:
    """``qv validate --format json`` and ``qv render`` both refuse the tree within the memory
    bound, locating the one finding at ``where``; returns the JSON finding."""
    validate = qv(root, "validate", "--format", "json")
    render = qv(root, "render", "--env", "dev", "--format", "json")
    for run in (validate, render):
        run.assert_clean()
        assert run.code == 1
        assert run.peak_rss_mb < MAX_RSS_MB
    [finding] = json.loads(validate.out)["findings"]
    assert _key(finding) == where
    code, file, line, col = where
    assert f"{file}:{line}:{col}: {code} " in render.err
    return dict(finding)


def _billion_laughs(levels: int) -> str:
    lines = ["apiVersion: qv/v1", "kind: Config", "metadata: {name: laughs}", "spec:"]
    lines.append("  a0: &a0 [" + ", ".join(["lol"] * 9) + "]")
    for i in range(1, levels + 1):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _scalar_bomb() -> str:
    """A 900 KB scalar aliased 500 times: under the size bound and the node bound, 450 MB as
    rendered JSON if it were let through."""
    copies = ", ".join(["*blob"] * 500)
    return (
        "apiVersion: qv/v1\nkind: Config\nmetadata: {name: laughs}\nspec:\n"
        f"  blob: &blob {'x' * 900_000}\n  copies: [{copies}]\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "col"),
    [(_billion_laughs(12), 8, 12), (_scalar_bomb(), 6, 19)],  # the alias over the bound
    ids=["billion-laughs", "scalar-bomb"],
)
def test_alias_bombs_fail_fast_in_bounded_memory(
    text: str, line: int, col: int, tmp_path: Path
) -> None:
    root = copy_case("valid", tmp_path)
    (root / "environments/dev/configs/laughs.yaml").write_text(text)
    finding = refused_in_bounded_memory(
        root, ("QV105", "environments/dev/configs/laughs.yaml", line, col)
    )
    assert finding["message"].startswith("aliases expand to more than")


@pytest.fixture
def fifty_mb_tree(tmp_path: Path) -> Path:
    """The valid tree plus a 50 MB Config document in dev."""
    root = copy_case("valid", tmp_path)
    row = "  key{:08d}: " + "v" * 40 + "\n"
    with (root / "environments/dev/configs/huge.yaml").open("w") as out:
        out.write("apiVersion: qv/v1\nkind: Config\nmetadata: {name: huge}\nspec:\n")
        for start in range(0, 1_000_000, 10_000):
            out.write("".join(row.format(i) for i in range(start, start + 10_000)))
    return root


HUGE = ("QV106", "environments/dev/configs/huge.yaml", 1, 1)


def test_fifty_mb_file_is_a_size_finding(fifty_mb_tree: Path) -> None:
    finding = refused_in_bounded_memory(fifty_mb_tree, HUGE)
    assert "over the limit of 1048576" in finding["message"]
    assert "max_file_bytes" in finding["message"]  # says how to raise the bound


def test_fifty_mb_file_text_report_in_bounded_memory(fifty_mb_tree: Path) -> None:
    run = qv(fifty_mb_tree, "validate")
    run.assert_clean()
    assert run.code == 1
    assert HUGE in text_findings(run.out)
    assert run.peak_rss_mb < MAX_RSS_MB


def test_render_selector_of_a_broken_document_shows_its_finding(tmp_path: Path) -> None:
    root = copy_case("qv105-alias-bomb", tmp_path)
    run = qv(root, "render", "--env", "dev", "config/laughs")
    run.assert_clean()
    assert "environments/dev/configs/laughs.yaml:8:12: QV105 " in run.err
    assert run.code == 1


SCALARS = """\
apiVersion: qv/v1
kind: Config
metadata: {name: scalars}
spec:
  norway: NO
  switch: off
  answer: yes
  big: 1e6
  mode: 0777
  octal: 0o17
  hex: 0x1F
  quoted: "0777"
  flag: true
  day: 2026-01-01
"""

YAML12 = {
    "norway": "NO",
    "switch": "off",
    "answer": "yes",
    "big": 1000000.0,
    "mode": 777,
    "octal": 15,
    "hex": 31,
    "quoted": "0777",
    "flag": True,
    "day": "2026-01-01",
}


@pytest.mark.parametrize("anchor", ["", "  copy: &c {a: 1}\n  again: *c\n"], ids=["fast", "strict"])
def test_yaml_1_2_scalars_through_render_json(anchor: str, tmp_path: Path) -> None:
    # An anchor sends the file through the strict (libyaml) loader instead of the fast one.
    root = copy_case("valid", tmp_path)
    (root / "environments/dev/configs/scalars.yaml").write_text(SCALARS + anchor)
    run = qv(root, "render", "--env", "dev", "--format", "json", "config/scalars")
    run.assert_clean()
    assert run.code == 0, run.err
    spec = json.loads(run.out)["dev/config/scalars"]["spec"]
    got = {key: spec[key] for key in YAML12}
    assert got == YAML12
    assert {key: type(value) for key, value in got.items()} == {
        key: type(value) for key, value in YAML12.items()
    }
    assert qv(root, "validate").code == 0

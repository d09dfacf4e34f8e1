"""``cli.quick``: the common ``qv validate`` lines, run without click, read as click reads them
and answered as the click command answers them (output, exit code, errors)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import typer

from qv_config.cli import quick
from qv_config.cli.app import _register, app
from qv_config.cli.app import run as click_run
from qv_config.cli.state import OPTIONS

CASES = Path(__file__).parents[1] / "validate" / "cases"

ACCEPTED = [
    ["validate"],
    ["-v", "validate"],
    ["-C", "somewhere", "validate"],
    ["--project-dir", "somewhere", "--verbose", "validate"],
    ["validate", "-e", "dev", "--env", "prod", "-e", "dev"],
    ["validate", "--format", "json"],
    ["validate", "-f", "sarif", "--no-cache"],
    ["validate", "environments/dev", "-e", "dev", "templates"],
    ["validate", "--format", "nonsense"],  # the command says what is wrong, as with click
    ["validate", "-e", "Not An Env!"],
]
DECLINED = [
    [],
    ["--help"],
    ["validate", "--help"],
    ["validate", "-h"],
    ["render", "--env", "dev"],
    ["validat"],
    ["--", "validate"],
    ["-V", "validate"],
    ["-v", "-v", "validate"],
    ["-C", "a", "-C", "b", "validate"],
    ["-C", "-x", "validate"],
    ["-C", "", "validate"],
    ["-Cdir", "validate"],
    ["validate", "-v"],
    ["validate", "--format=json"],
    ["validate", "-fjson"],
    ["validate", "--format", "json", "-f", "text"],
    ["validate", "--format"],
    ["validate", "-e"],
    ["validate", "-e", "-x"],
    ["validate", "--no-cache", "--no-cache"],
    ["validate", "--key-file", "k.txt"],
    ["validate", "--", "-weird-path"],
    ["validate", "-"],
    ["validate", ""],
    ["validate", "--no-cach"],
]


def _click_params(args: list[str]) -> dict[str, Any]:
    """The root and validate options click reads from ``args``."""
    _register(args)
    group: Any = typer.main.get_command(app)
    root = group.make_context("qv", list(args))
    rest = [*root._protected_args, *root.args]
    command = group.get_command(root, rest[0])
    params = command.make_context(rest[0], rest[1:], parent=root).params
    return {**root.params, **params}


@pytest.mark.parametrize("args", ACCEPTED, ids=" ".join)
def test_a_line_it_reads_is_read_as_click_reads_it(args: list[str]) -> None:
    line = quick.parse(args)
    assert line is not None
    click = _click_params(args)
    assert line.verbose == click["verbose"]
    assert line.project_dir == click["project_dir"]  # typer makes it a Path, as quick.run
    assert list(line.envs) == list(click["env"])
    assert line.output_format == click["output_format"]
    assert line.no_cache == click["no_cache"]
    assert list(line.paths) == list(click["paths"] or [])
    assert click["key_file"] is None


@pytest.mark.parametrize("args", DECLINED, ids=" ".join)
def test_any_other_line_is_left_to_click(args: list[str]) -> None:
    assert quick.parse(args) is None


@pytest.mark.parametrize("name", ["QV_PROJECT_DIR", "_QV_COMPLETE"])
def test_environment_click_reads_leaves_the_line_to_click(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "x")
    assert quick.parse(["validate"]) is None


def _both(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) of ``args`` run by click, then without it."""
    runs = []
    for way in ("click", "quick"):
        capsys.readouterr()
        try:
            if way == "click":
                click_run(list(args))
            line = quick.parse(args)
            assert line is not None
            raise SystemExit(quick.run(line))
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 0
        out = capsys.readouterr()
        runs.append((code, out.out, out.err))
    return runs[0], runs[1]


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("valid", []),
        ("valid", ["--format", "json", "--no-cache"]),
        ("qv310-config-schema", []),
        ("qv310-config-schema", ["-f", "sarif", "-e", "dev"]),
        ("qv601-plaintext-secret", ["--format", "github", "environments"]),
        ("valid", ["--format", "yaml"]),  # exit 2: the format is unknown
        ("valid", ["-e", "nowhere"]),  # exit 2: the environment is unknown
        ("valid", ["outside/../../x"]),  # exit 2: a path outside the project
    ],
)
def test_a_line_is_answered_as_click_answers_it(
    case: str, options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / case
    shutil.copytree(CASES / case, root, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
    args = ["-C", str(root), "validate", *options]
    click, fast = _both(capsys, args)
    assert fast == click
    click, fast = _both(capsys, args)  # warm: the result kept by the runs above
    assert fast == click


def test_no_project_is_the_same_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    click, fast = _both(capsys, ["-C", str(tmp_path), "validate"])
    assert fast == click
    assert click[0] != 0
    assert "no qv.yaml" in click[2]


def test_the_options_of_the_last_line_do_not_stay(tmp_path: Path) -> None:
    line = quick.parse(["-v", "-C", str(tmp_path), "validate"])
    assert line is not None
    quick.run(line)
    assert OPTIONS.verbose
    assert OPTIONS.project_dir == tmp_path
    again = quick.parse(["validate", "-e", "x y"])  # exit 2 before any work
    assert again is not None
    assert quick.run(again) == 2
    assert not OPTIONS.verbose
    assert OPTIONS.project_dir is None

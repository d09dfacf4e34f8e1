"""An environment name or selector no qv.yaml can hold is a usage error (exit 2) of every command
that takes one, before any git call or file lookup: a 100,000-character name used to reach
git's argument list or a path lookup and fail with an internal OSError. The real ``qv`` in a
subprocess whose PATH holds no git at all: a git call would fail differently (exit 3)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.output.hostile import assert_inert_text, starter_repo
from tests.qvbin import QV

HUGE = "a" * 100_000
BAD_NAMES = {
    "huge": HUGE,
    "upper": "Prod",
    "path": "../dev",
    "control": "dev\x1b[2J",
    "underscore": "dev_1",
}
COMMANDS = {
    "validate": ["validate", "--env", "{env}"],
    "render": ["render", "--env", "{env}"],
    "render-rev": ["render", "--env", "{env}", "--rev", "HEAD"],
    "diff-left": ["diff", "{env}@HEAD", "dev"],
    "diff-right": ["diff", "dev@HEAD~1", "{env}"],
    "diff-work": ["diff", "{env}", "{env}"],
    "sync": ["sync", "--env", "{env}"],
    "drift": ["drift", "--env", "{env}"],
    "history": ["history", "--env", "{env}"],
    "rollback": ["rollback", "--env", "{env}", "--to", "HEAD", "--reason", "x"],
    "log": ["log", "--env", "{env}"],
    "agent": ["agent", "--once", "--env", "{env}", "--source", "{root}"],
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return starter_repo(tmp_path_factory.mktemp("names") / "config")


def _run(root: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No git on PATH, and no store: the answer must come before either is needed.
    env = {**os.environ, "PATH": str(cwd), "NO_COLOR": "1", "QV_STORE": f"sqlite:{cwd}/s.db"}
    return subprocess.run(
        [QV, "-C", str(root), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_huge_environment_name_is_a_usage_error(root: Path, tmp_path: Path, command: str) -> None:
    args = [arg.format(env=HUGE, root=root) for arg in COMMANDS[command]]
    done = _run(root, tmp_path, *args)
    assert done.returncode == 2, done.stderr[:500]
    assert "unknown environment" in done.stderr
    assert "spec.environments" in done.stderr
    assert "internal error" not in done.stderr
    assert len(done.stderr) < 2_000  # the name is clipped, not echoed whole
    assert not list(tmp_path.iterdir())  # no store was created, nothing written


@pytest.mark.parametrize("name", sorted(BAD_NAMES))
def test_names_no_qv_yaml_can_hold_are_usage_errors(root: Path, tmp_path: Path, name: str) -> None:
    for command in ("render", "diff-left", "drift"):
        args = [arg.format(env=BAD_NAMES[name], root=root) for arg in COMMANDS[command]]
        done = _run(root, tmp_path, *args)
        assert done.returncode == 2, (command, done.stderr[:500])
        assert "no environment of qv.yaml can have this name" in done.stderr
        assert_inert_text(done.stderr)


@pytest.mark.parametrize("command", ["render", "log"])
@pytest.mark.parametrize("selector", ["config/" + HUGE, HUGE + "/x", "config/a\x1b[2Jb"])
def test_a_selector_that_can_match_nothing_is_a_usage_error(
    root: Path, tmp_path: Path, command: str, selector: str
) -> None:
    done = _run(root, tmp_path, command, "--env", "dev", selector)
    assert done.returncode == 2, done.stderr[:500]
    assert "can match no document" in done.stderr
    assert len(done.stderr) < 2_000
    assert_inert_text(done.stderr)


def test_qv_yaml_refuses_an_environment_name_the_commands_refuse(
    tmp_path: Path,
) -> None:
    root = starter_repo(tmp_path / "config")
    qv_yaml = root / "qv.yaml"
    qv_yaml.write_text(qv_yaml.read_text().replace("[dev, staging, prod]", "[dev, staging, Prod]"))
    done = subprocess.run(
        [QV, "-C", str(root), "validate"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "QV205" in done.stdout
    assert "spec.environments" in done.stdout

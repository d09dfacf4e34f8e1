"""`--format` lists its choices in `--help`, and shell completion works (issue 14): the
script `qv --show-completion bash` prints, and click's completion protocol it runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.inprocess import run_qv
from tests.qvbin import QV

FORMATS = {
    "validate": "[text|json|github|sarif]",
    "render": "[yaml|json|unleash]",
    "diff": "[text|markdown|json]",
    "review": "[text|markdown|json]",
    "log": "[text|json]",
    "sync": "[text|json]",
    "drift": "[text|json]",
    "history": "[text|json]",
    "rollback": "[text|json]",
}


@pytest.mark.parametrize(("command", "choices"), sorted(FORMATS.items()))
def test_format_lists_its_choices_in_help(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str, choices: str
) -> None:
    done = run_qv(capsys, tmp_path, command, "--help")
    assert done.code == 0
    assert f"--format {choices}" in done.out


def _complete(words: str, tmp_path: Path) -> list[str]:
    env = {
        **os.environ,
        "_QV_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    done = subprocess.run(
        [QV], env=env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def _setsid(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """qv in a session of its own, no shell among its parents (as under CI or an IDE): the
    shell named is the one shown, never one guessed from the process tree."""
    return subprocess.run(
        [QV, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=60,
        start_new_session=True, env={"PATH": os.environ["PATH"], "HOME": str(cwd)},
    )  # fmt: skip


def test_show_completion_prints_the_script_of_the_shell_named(tmp_path: Path) -> None:
    done = _setsid("--show-completion", "bash", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "_QV_COMPLETE=complete_bash" in done.stdout
    assert "complete -o default -F _qv_completion qv" in done.stdout
    zsh = _setsid("--show-completion", "zsh", cwd=tmp_path)
    assert zsh.returncode == 0, zsh.stderr
    assert zsh.stdout.startswith("#compdef qv")
    bad = _setsid("--show-completion", "tcsh", cwd=tmp_path)
    assert bad.returncode == 2
    assert "tcsh not supported" in bad.stderr
    assert "bash, zsh, fish" in bad.stderr


def test_completion_names_commands_options_and_format_choices(tmp_path: Path) -> None:
    assert _complete("qv va", tmp_path) == ["validate"]
    assert "secrets" in _complete("qv s", tmp_path)
    assert "--key-file" in _complete("qv sync --k", tmp_path)
    assert _complete("qv validate --format ", tmp_path) == ["text", "json", "github", "sarif"]
    assert _complete("qv diff --format m", tmp_path) == ["markdown"]


def test_install_completion_is_offered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    done = run_qv(capsys, tmp_path, "--help")
    assert "--install-completion" in done.out
    assert "--show-completion" in done.out

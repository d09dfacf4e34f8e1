"""The command table: a run imports only its own command's module; help and typos see them all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qv_config.cli.app import COMMANDS, _command_word

QV = str(Path(sys.executable).with_name("qv"))


@pytest.mark.parametrize(
    ("args", "word"),
    [
        (["validate"], "validate"),
        (["-C", "validate", "render"], "render"),  # -C takes a value, even one named like a command
        (["--project-dir", "x", "-v", "diff", "a", "b"], "diff"),
        (["-v", "secrets", "encrypt", "f.yaml"], "secrets"),
        (["--help"], None),
        ([], None),
        (["validat"], None),  # a typo: every command is registered so click can say so
        (["--", "validate"], None),
    ],
)
def test_command_word(args: list[str], word: str | None) -> None:
    assert _command_word(args) == word


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QV, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_help_lists_every_command() -> None:
    listed = _run("--help")
    assert listed.returncode == 0
    commands = listed.stdout.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"\n  {name} " in commands, name


def test_unknown_command_is_a_usage_error() -> None:
    typo = _run("validat")
    assert typo.returncode == 2
    assert "No such command 'validat'" in typo.stderr
    assert "Traceback" not in typo.stderr


@pytest.mark.parametrize(
    ("args", "own"),
    [
        # Read by click: the command's own module, no other command's.
        (["validate", "--format=text"], "qv_config.cli.validate"),
        # A common validate line runs without typer and click (``cli.quick``): not even its own
        # command's click module is imported, only what it runs (``cli.validating``).
        (["validate"], None),
    ],
)
def test_a_run_imports_only_its_own_command(
    args: list[str], own: str | None, tmp_path: Path
) -> None:
    assert _run("init", str(tmp_path / "repo")).returncode == 0
    probe = (
        "import sys\n"
        "from qv_config.cli.__main__ import main\n"
        "try:\n"
        f"    main(['-C', {str(tmp_path / 'repo')!r}, *{args!r}])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "mods = sorted(m for m in sys.modules if m.startswith(('qv_config.cli.', 'click')))\n"
        "sys.stderr.write(' '.join(mods))\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(run.stderr.split())
    assert "qv_config.cli.validating" in loaded
    commands = {f"qv_config.cli.{name}" for name in COMMANDS}
    assert loaded & commands == ({own} if own else set())
    assert ("click" in loaded) == (own is not None)


def _exit_probe(code: str) -> subprocess.CompletedProcess[str]:
    """A process that ends as the console script does, after writing, registering an exit
    handler and keeping an object whose teardown would say so."""
    probe = (
        "import atexit, sys\n"
        "from qv_config.cli import __main__ as console\n"
        "console.skip_teardown()\n"
        "atexit.register(lambda: sys.stdout.write(' atexit ran'))\n"
        "class Noisy:\n"
        "    def __del__(self):\n"
        "        sys.stderr.write(' torn down')\n"
        "keep = Noisy()\n"
        "sys.stdout.write('x' * 100_000)\n"  # buffered: lost unless flushed before the end
        "sys.stderr.write('warned')\n"
        f"console.exiting({code})\n"
        f"raise SystemExit({code})\n"
    )
    command = [sys.executable, "-c", probe]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("code", "returncode"), [("0", 0), ("1", 1), ("3", 3), ("None", 0)])
def test_console_exit_flushes_runs_atexit_and_keeps_the_code(code: str, returncode: int) -> None:
    done = _exit_probe(code)
    assert done.returncode == returncode
    assert done.stdout == "x" * 100_000 + " atexit ran"
    assert done.stderr == "warned"  # the teardown (Noisy.__del__) was skipped


def test_console_exit_with_a_message_prints_it_and_tears_down() -> None:
    done = _exit_probe("'qv: stopped'")
    assert done.returncode == 1
    assert done.stdout == "x" * 100_000 + " atexit ran"
    assert "qv: stopped\n" in done.stderr
    assert done.stderr.startswith("warned")


def test_console_script_output_is_complete_through_a_pipe(tmp_path: Path) -> None:
    # The real console script (hard exit): a report larger than a pipe's buffer arrives whole
    # and with the exit code of the findings.
    assert _run("init", str(tmp_path / "repo")).returncode == 0
    for i in range(400):  # one duplicate key each: 400 findings, ~100 KB of JSON
        broken = tmp_path / "repo" / "environments" / "dev" / f"broken-{i:03}.yaml"
        broken.write_text("a: 1\na: 2\n")
    done = _run("-C", str(tmp_path / "repo"), "validate", "--format", "json")
    assert done.returncode == 1
    assert len(done.stdout) > 65_536
    report = json.loads(done.stdout)
    assert len(report["findings"]) == 400
    assert report["summary"]["valid"] is False

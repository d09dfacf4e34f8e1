"""The typer application.

Command modules are imported here; each keeps heavy imports inside its function body so that
``qv --help`` stays fast. ``run`` runs a command line inside qv's single error boundary
(``cli.boundary``: every ``QvError`` becomes its exit code and one line).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import typer

from qv_config import __version__
from qv_config.cli import state
from qv_config.cli.boundary import guarded

app = typer.Typer(
    name="qv",
    help="QuantiVista configuration as code: validate, render, diff, promote, sync.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich help formatting costs ~140 ms of imports
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qv {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Show tracebacks and debug detail."
    ),
    project_dir: Path | None = typer.Option(
        None,
        "--project-dir",
        "-C",
        help="Run as if qv was started in this directory.",
        envvar="QV_PROJECT_DIR",
    ),
    _show_version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    state.OPTIONS.verbose = verbose
    state.OPTIONS.project_dir = project_dir


# Commands, each added to ``app`` by the module of the same name. A run imports only its own
# command's module: typer turns every registered command into click parameters up front (~25 ms
# for all of them).
COMMANDS = (
    "agent", "approvals", "approve", "diff", "drift", "flags", "graph", "history", "init",
    "log", "promote", "render", "review", "rollback", "schema", "secrets", "serve", "sync",
    "validate",
)  # fmt: skip
_VALUED_ROOT_OPTIONS = ("-C", "--project-dir")


def _command_word(args: list[str]) -> str | None:
    """The command named on the line (after the root options), or None for none/unknown."""
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _VALUED_ROOT_OPTIONS:
            skip = True
        elif arg == "--":
            return None
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _register(args: list[str] | None = None) -> None:
    """Import the named command's module, or every one (help, a typo: click lists them all)."""
    import importlib

    word = _command_word(args) if args is not None else None
    for name in [word] if word else list(COMMANDS):
        module = importlib.import_module(f"qv_config.cli.{name}")
        if name == "secrets" and not any(g.name == "secrets" for g in app.registered_groups):
            app.add_typer(module.secrets_app, name="secrets")
        if name == "flags" and not any(g.name == "flags" for g in app.registered_groups):
            app.add_typer(module.flags_app, name="flags")


def _click_exceptions() -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    """Exit, usage and abort exception types of click, and of typer's vendored click if any.

    typer up to 0.24 raises click's own exceptions; later releases vendor click
    (``typer._click``) with their own ``Exit``/``Abort``. The boundary catches both families.
    """
    import importlib

    import click

    exits: list[Any] = [click.exceptions.Exit]
    usages: list[Any] = [click.ClickException]
    aborts: list[Any] = [click.exceptions.Abort]
    for module, bucket, name in (
        ("typer.exceptions", exits, "Exit"),
        ("typer.exceptions", aborts, "Abort"),
        ("typer._click.exceptions", usages, "ClickException"),
    ):
        with contextlib.suppress(ImportError, AttributeError):
            bucket.append(getattr(importlib.import_module(module), name))
    return tuple(exits), tuple(usages), tuple(aborts)


def _show_completion(shell: str) -> int:
    """``qv --show-completion SHELL``: the script of the shell named. typer's own option takes
    no value and guesses the shell from the parent processes (none found under CI or an IDE:
    "Shell  not supported")."""
    from typer._completion_shared import get_completion_script  # typer <0.25 (pyproject)

    try:
        script = get_completion_script(prog_name="qv", complete_var="_QV_COMPLETE", shell=shell)
    except Exception:  # click's Exit, after saying "Shell X not supported." on stderr
        sys.stderr.write("qv: shells: bash, zsh, fish, powershell (pwsh)\n")
        return 2
    sys.stdout.write(script + "\n")
    return 0


def run(args: list[str]) -> None:
    """Run the CLI with ``args``; errors become exit codes at the one boundary (``boundary``)."""
    if len(args) == 2 and args[0] == "--show-completion":
        raise SystemExit(_show_completion(args[1]))
    _register(args)
    raise SystemExit(guarded(lambda: _click_main(args)))


def _click_main(args: list[str]) -> int:
    """The click command's exit code; click's exit, usage and abort exceptions as codes."""
    exit_types, usage_types, abort_types = _click_exceptions()
    try:
        # The click command itself, not ``app(...)``: typer's __call__ tags every exception with
        # an attribute for its pretty tracebacks, which fails (and hides the error) on frozen
        # exception types such as those of attrs-based libraries.
        command = typer.main.get_command(app)
        code = command.main(args=args, prog_name="qv", standalone_mode=False)
    except exit_types as stop:
        code = stop.exit_code
    except usage_types as usage:
        sys.stderr.write(_usage_text(usage))
        code = 2
    except abort_types:
        sys.stderr.write("qv: aborted\n")
        code = 130
    return code if isinstance(code, int) else 0


def _usage_text(usage: Any) -> str:
    """click's usage error (usage line, hint, message) with what was typed escaped line by line:
    an argument can be pasted from anywhere."""
    import io

    from qv_config.safetext import escape

    buffer = io.StringIO()
    usage.show(file=buffer)
    return "".join(escape(line) + "\n" for line in buffer.getvalue().splitlines())

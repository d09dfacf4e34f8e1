"""The typer application and the single error boundary of qv.

Command modules are imported here; each keeps heavy imports inside its function body so that
``qv --help`` stays fast. ``run`` maps every ``QvError`` to its exit code and prints one line;
a traceback is shown only with ``-v``.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import typer

from qv_config import __version__
from qv_config.cli import state

app = typer.Typer(
    name="qv",
    help="QuantiVista configuration as code: validate, render, diff, promote, sync.",
    no_args_is_help=True,
    add_completion=False,
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
    "agent", "diff", "drift", "history", "init", "log", "render", "review", "rollback",
    "schema", "secrets", "sync", "validate",
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


def run(args: list[str]) -> None:
    """Run the CLI with ``args``; the one place where errors become exit codes."""
    from qv_config.errors import QvError

    exit_types, usage_types, abort_types = _click_exceptions()
    _register(args)
    try:
        # The click command itself, not ``app(...)``: typer's __call__ tags every exception with
        # an attribute for its pretty tracebacks, which fails (and hides the error) on frozen
        # exception types such as those of attrs-based libraries.
        command = typer.main.get_command(app)
        code = command.main(args=args, prog_name="qv", standalone_mode=False)
    except exit_types as stop:
        code = stop.exit_code
    except usage_types as usage:
        usage.show()
        code = 2
    except abort_types:
        sys.stderr.write("qv: aborted\n")
        code = 130
    except QvError as error:
        if state.OPTIONS.verbose:
            import traceback

            traceback.print_exc()
        sys.stderr.write(f"qv: error: {error}\n")
        code = error.exit_code
    except KeyboardInterrupt:
        code = 130
    except Exception as bug:  # the boundary: never a bare traceback without -v
        if state.OPTIONS.verbose:
            raise
        sys.stderr.write(
            f"qv: internal error: {type(bug).__name__}: {bug} (run again with -v for the traceback"
            " and report it)\n"
        )
        code = 3
    raise SystemExit(code if isinstance(code, int) else 0)

"""The common ``qv validate`` command lines, run without typer and click.

Importing typer and click, and building the click command, is ~20 ms of CPU; a warm
``qv validate`` of 50,000 documents whose result is kept takes ~0.25 s in all. So the lines a
developer or CI types most — ``qv [-v] [-C DIR] validate [-e ENV]... [-f FORMAT] [--no-cache]
[PATH]...`` — are read here, and run by the same code as the click command
(``cli.validating``) inside the same error boundary (``cli.boundary``). Anything else (help,
another option, ``--opt=value``, a value that starts with ``-``, ``--``, a repeated single
option, shell completion, ``QV_PROJECT_DIR``) is left to click, which reads every line: this
module only ever declines, never says a line is wrong.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_ROOT_VALUED = ("-C", "--project-dir")
_ROOT_FLAGS = ("-v", "--verbose")
_ENV, _FORMAT, _NO_CACHE = ("-e", "--env"), ("-f", "--format"), "--no-cache"
# Environment variables click reads for this command line: the project folder (an option's
# envvar) and shell completion (click's ``_QV_COMPLETE``).
_CLICK_ENV = ("QV_PROJECT_DIR", "_QV_COMPLETE")


@dataclass(frozen=True)
class ValidateLine:
    """A ``qv validate`` command line as click would read it."""

    verbose: bool = False
    project_dir: str | None = None
    envs: tuple[str, ...] = ()
    output_format: str = "text"
    no_cache: bool = False
    paths: tuple[str, ...] = ()


def parse(args: Sequence[str]) -> ValidateLine | None:
    """The line, when it is one of the common ``qv validate`` lines; None: leave it to click."""
    if any(name in os.environ for name in _CLICK_ENV):
        return None
    root = _root_options(args)
    if root is None:
        return None
    verbose, project_dir, rest = root
    if not rest or rest[0] != "validate":
        return None
    return _validate_options(rest[1:], ValidateLine(verbose, project_dir))


def _root_options(args: Sequence[str]) -> tuple[bool, str | None, Sequence[str]] | None:
    """``-v`` and ``-C DIR`` before the command (each at most once), and what follows."""
    verbose, project_dir, at = False, None, 0
    while at < len(args) and args[at].startswith("-"):
        arg = args[at]
        if arg in _ROOT_FLAGS and not verbose:
            verbose, at = True, at + 1
        elif arg in _ROOT_VALUED and project_dir is None and _plain(args, at + 1):
            project_dir, at = args[at + 1], at + 2
        else:
            return None
    return verbose, project_dir, args[at:]


def _validate_options(args: Sequence[str], line: ValidateLine) -> ValidateLine | None:
    envs: list[str] = []
    paths: list[str] = []
    output_format: str | None = None
    no_cache, at = False, 0
    while at < len(args):
        arg = args[at]
        if not arg.startswith("-") and arg:
            paths.append(arg)
            at += 1
        elif arg in _ENV and _plain(args, at + 1):
            envs.append(args[at + 1])
            at += 2
        elif arg in _FORMAT and output_format is None and _plain(args, at + 1):
            output_format, at = args[at + 1], at + 2
        elif arg == _NO_CACHE and not no_cache:
            no_cache, at = True, at + 1
        else:
            return None
    return ValidateLine(
        line.verbose,
        line.project_dir,
        tuple(envs),
        output_format if output_format is not None else "text",
        no_cache,
        tuple(paths),
    )


def _plain(args: Sequence[str], at: int) -> bool:
    """An option's value there that click would read as the same plain value."""
    return at < len(args) and bool(args[at]) and not args[at].startswith("-")


def run(line: ValidateLine) -> int:
    """Run the line as the click command does: its exit code."""
    from qv_config.cli.boundary import guarded
    from qv_config.cli.state import OPTIONS

    # What the root callback sets on every click run (a process may run several lines: tests).
    OPTIONS.verbose = line.verbose
    OPTIONS.project_dir = Path(line.project_dir) if line.project_dir is not None else None
    return guarded(lambda: _as_click(line))


def _as_click(line: ValidateLine) -> int:
    """The command, with what click does around a command run with ``standalone_mode=False``
    and the boundary of ``cli.app.run`` around that: an interrupt is "aborted" (130) after a
    blank line; a closed output pipe ends the run with 1 and nothing said."""
    from qv_config.cli.validating import validate_and_report

    try:
        return validate_and_report(
            line.envs, line.output_format, line.no_cache, line.paths, key_file=None
        )
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")
        sys.stderr.write("qv: aborted\n")
        return 130
    except OSError as err:
        if err.errno != errno.EPIPE:
            raise
        return 1

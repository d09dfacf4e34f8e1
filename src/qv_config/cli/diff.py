"""``qv diff A B`` — the effective difference between two environments or revisions (SPEC §5)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS

if TYPE_CHECKING:
    from qv_config.diff.model import EnvDiff


@app.command("diff")
def diff_command(
    left: str = typer.Argument(..., help="ENV or ENV@REV (e.g. staging, prod@main)."),
    right: str = typer.Argument(..., help="ENV or ENV@REV."),
    selectors: list[str] = typer.Argument(
        None, help="kind/name with shell-style globs (strategy/*); default: every document."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
    all_fields: bool = typer.Option(
        False, "--all", help="Between two environments, include env_specific fields too."
    ),
    exit_code: bool = typer.Option(
        False, "--exit-code", help="Exit 1 when there are differences (like git diff)."
    ),
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Show changed secrets in plaintext, old → new (needs the age key)."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="age key file for --decrypt (default: SOPS_AGE_KEY_FILE)."
    ),
) -> None:
    """Show documents added, removed and changed, loosened risk limits first.

    Secret fields show no value unless --decrypt asks for the plaintext of changed ones.
    """
    from qv_config.cli.output import write
    from qv_config.diff import reporters
    from qv_config.diff.run import diff_sides
    from qv_config.diff.sides import parse_side
    from qv_config.errors import CheckFailed
    from qv_config.names import check_selectors
    from qv_config.repo import find_root

    reporter = reporters.get(output_format)
    check_key_file(decrypt, key_file)
    chosen = check_selectors(selectors or [])
    result = diff_sides(
        find_root(OPTIONS.start_dir()),
        parse_side(left),
        parse_side(right),
        all_fields=all_fields,
        decrypt=decrypt,
        key_file=key_file,
        selectors=chosen,
    )
    if output_format == "text":
        print_text(result)
    else:
        write(reporter(result))
    if exit_code and not result.empty:
        raise CheckFailed(f"{len(result.changes)} document(s) differ")


def check_key_file(decrypt: bool, key_file: Path | None) -> None:
    """``--key-file`` means nothing without ``--decrypt`` (as for ``qv render``)."""
    if key_file is not None and not decrypt:
        from qv_config.errors import UsageError

        raise UsageError("--key-file is used only with --decrypt", hint="add --decrypt")


def print_text(result: EnvDiff) -> None:
    """The text report: in colour on a terminal, else written plain without markup."""
    import os
    import sys

    from qv_config.cli.output import write
    from qv_config.diff import reporters

    if "NO_COLOR" in os.environ or not sys.stdout.isatty():
        write(reporters.text_plain(result))
    else:
        print_markup(reporters.text(result))


def print_markup(markup: str) -> None:
    """Rich markup in colour on a terminal; plain text on a pipe or with NO_COLOR (SPEC §10)."""
    import os
    import sys

    from qv_config.cli.output import console, write

    if "NO_COLOR" in os.environ or not sys.stdout.isatty():
        from qv_config.diff.reporters import plain

        write(plain(markup))
    else:
        console().print(markup)

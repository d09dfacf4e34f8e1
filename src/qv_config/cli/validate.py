"""`qv validate`: check every environment (or those named) and report all findings (SPEC §4).

The command's options; what it does is ``cli.validating`` (also run without click for the
common command lines, ``cli.quick``)."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import VALIDATE_KEY_FILE
from qv_config.cli.options import format_option

_FORMAT = format_option("text", "text", "json", "github", "sarif")


@app.command("validate")
def validate_command(
    env: list[str] = typer.Option(
        [], "--env", "-e", help="Environment to check (repeatable; default: all)."
    ),
    output_format: str = _FORMAT,
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Do not read or write the result cache under .qv/cache/."
    ),
    paths: list[str] = typer.Argument(
        None, help="Report only findings in files under these paths.", show_default=False
    ),
    key_file: Path | None = VALIDATE_KEY_FILE,
) -> None:
    """Validate the configuration: YAML, structure, schemas, rules and secrets."""
    from qv_config.cli.validating import validate_and_report

    code = validate_and_report(env, output_format, no_cache, paths or [], key_file)
    if code:
        raise typer.Exit(code)

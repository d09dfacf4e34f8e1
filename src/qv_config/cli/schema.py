"""`qv schema export [--out DIR] [--check] [--vscode]`: write the built-in kinds' JSON Schemas,
their editor variants and (for the project's own schemas folder) the editor settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qv_config.cli.app import app

schema_app = typer.Typer(
    help="JSON Schemas of the built-in kinds (for editors, CI and check-jsonschema).",
    no_args_is_help=True,
)
app.add_typer(schema_app, name="schema")


@schema_app.command("export")
def export_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Directory to write to (default: <root>/schemas/qv)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 if files differ from the models.")
    ] = False,
    vscode: Annotated[
        bool,
        typer.Option(
            "--vscode",
            help="Also create .vscode/settings.json (yaml.schemas); an existing one is always "
            "kept current.",
        ),
    ] = False,
) -> None:
    """Write schemas/qv/<kind>.schema.json and schemas/qv/editor/ from the models (or check)."""
    from qv_config.cli.output import console
    from qv_config.cli.state import OPTIONS
    from qv_config.errors import CheckFailed
    from qv_config.models import export_schemas, stale_files
    from qv_config.models.editor import SETTINGS, write_settings
    from qv_config.repo import find_root

    # -C means "as if started there": a relative --out is relative to that directory too.
    if vscode and out is not None:
        from qv_config.errors import UsageError

        raise UsageError("--vscode points editors at schemas/qv", hint="leave out --out")
    start = OPTIONS.start_dir()
    # The editor settings name schemas/qv: they follow the project's own folder, not --out.
    root = None if out is not None else find_root(start)
    out_dir = start / out if out is not None else _default_dir(find_root(start))
    if check:
        stale = [*stale_files(out_dir), *_stale_settings(root)]
        if stale:
            names = ", ".join(str(p) for p in stale)
            raise CheckFailed(f"schemas out of date: {names}", hint="run `qv schema export`")
        console().print(f"schemas in {out_dir} are up to date", markup=False)
        return
    written = export_schemas(out_dir)
    if root is not None and (vscode or (root / SETTINGS).exists()):
        written.append(write_settings(root))
    for path in written:
        console().print(f"wrote {path}", markup=False)


def _stale_settings(root: Path | None) -> list[Path]:
    from qv_config.models.editor import SETTINGS, settings_stale

    return [root / SETTINGS] if root is not None and settings_stale(root) else []


def _default_dir(root: Path) -> Path:
    """``schemas/qv`` of the project, when it is a real folder of it (or absent)."""
    from qv_config.errors import UsageError
    from qv_config.repo.files import Refused
    from qv_config.repo.source import WorkTreeSource

    found = WorkTreeSource(root).locate("schemas/qv")
    if isinstance(found, Refused):
        raise UsageError(found.finding().message, hint="make schemas/qv a folder, or pass --out")
    return root / "schemas" / "qv"

"""`qv init [DIR] [--force]` — write a starter configuration repository."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli import state
from qv_config.cli.app import app


@app.command("init")
def init_command(
    directory: Path | None = typer.Argument(
        None, metavar="DIR", help="Where to write the starter tree (default: current directory)."
    ),
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite files that already exist."),
) -> None:
    """Write a starter configuration repository that validates as written."""
    from qv_config.scaffold import write_starter
    from qv_config.scaffold.editor import write_editor_support

    base = state.OPTIONS.start_dir()
    dest = base / directory if directory is not None else base
    written = write_starter(dest, force=force)
    written += write_editor_support(dest)  # schemas/qv and .vscode/: completion while typing
    _report(dest, written)


def _report(dest: Path, written: list[Path]) -> None:
    from qv_config.cli.output import console

    out = console()
    out.print(f"Wrote {len(written)} files to {dest}:", markup=False)
    for path in written:
        out.print(f"  {path.relative_to(dest).as_posix()}", markup=False)
    cd = "" if dest.resolve() == Path.cwd().resolve() else f"cd {dest} && "
    out.print("\nNext:", markup=False)
    out.print(f"  {cd}qv validate", markup=False)
    out.print(f"  {cd}qv render --env dev", markup=False)

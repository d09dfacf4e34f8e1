"""`qv validate`: check every environment (or those named) and report all findings (SPEC §4)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import VALIDATE_KEY_FILE, using_key_file
from qv_config.cli.options import format_option

_FORMAT = format_option("text", "text", "json", "github", "sarif")


def _repo_paths(root: Path, start: Path, paths: list[str]) -> list[str]:
    """PATH arguments (relative to the start directory) as repository-relative POSIX paths."""
    from qv_config.errors import UsageError

    out = []
    for raw in paths:
        # Lexically, then with its folder resolved: a link named is the link, not its target.
        full = Path(os.path.normpath(start / raw))
        for candidate in (full, Path(os.path.realpath(full.parent)) / full.name):
            if candidate.is_relative_to(root):
                out.append(candidate.relative_to(root).as_posix())
                break
        else:
            raise UsageError(
                f"path {raw!r} is outside the project {root}",
                hint="give paths inside the configuration repository",
            )
    return out


def _color() -> bool:
    import os
    import sys

    return "NO_COLOR" not in os.environ and sys.stdout.isatty()


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
    from qv_config import report
    from qv_config.cli.output import progress_bar, write
    from qv_config.cli.state import OPTIONS
    from qv_config.names import check_envs
    from qv_config.repo import find_root
    from qv_config.validate.worktree import validate_worktree

    reporter = report.get(output_format)  # an unknown format fails before any work (exit 2)
    check_envs(env)
    start = OPTIONS.start_dir()
    root = find_root(start)
    selected = _repo_paths(root, start.resolve(), list(paths or []))
    with using_key_file(key_file):
        result, read = validate_worktree(
            root, env or None, selected, use_cache=not no_cache, progress=progress_bar()
        )
    write(reporter(result, read=read, color=_color() and output_format == "text"))
    if not result.ok:
        raise typer.Exit(1)

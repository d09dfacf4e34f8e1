"""`qv init [DIR] [--force] [--no-git]` — write a starter configuration repository: the tree,
a dev age key with its ``.sops.yaml``, and (unless --no-git) a Git repository with it committed."""

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
    no_git: bool = typer.Option(
        False, "--no-git", help="Do not create a Git repository nor commit the starter tree."
    ),
) -> None:
    """Write a starter configuration repository that validates, syncs and reviews as written."""
    from qv_config.scaffold import write_starter
    from qv_config.scaffold.devkey import refuse_existing, write_dev_secrets
    from qv_config.scaffold.editor import write_editor_support

    base = state.OPTIONS.start_dir()
    dest = base / directory if directory is not None else base
    if not force and dest.is_dir():
        refuse_existing(dest)
    written = write_starter(dest, force=force)
    written += write_dev_secrets(dest)
    written += write_editor_support(dest)  # schemas/qv and .vscode/: completion while typing
    committed = None if no_git else _git(dest)
    _report(dest, sorted(written), committed)


def _git(dest: Path) -> tuple[str, bool] | None:
    """The commit made, and whether git had no identity; None when ``dest`` is in a Git work
    tree already (its owner commits)."""
    from qv_config.scaffold.gitinit import init_and_commit, inside_work_tree

    return None if inside_work_tree(dest) else init_and_commit(dest)


def _report(dest: Path, written: list[Path], committed: tuple[str, bool] | None) -> None:
    from qv_config.cli.output import console
    from qv_config.safetext import escape

    out = console()
    for line in _lines(dest, written, committed):
        out.print(escape(line), markup=False)


def _lines(dest: Path, written: list[Path], committed: tuple[str, bool] | None) -> list[str]:
    from qv_config.scaffold.devkey import DEV_KEY

    lines = [f"Wrote {len(written)} files to {dest}:"]
    lines += [f"  {path.relative_to(dest).as_posix()}" for path in written]
    lines += [
        "",
        f"{DEV_KEY} is a DEV key made for this repository's dev environment: whoever has the",
        "repository can read dev's secrets with it. Staging and prod need keys of their own.",
    ]
    if committed is not None:
        sha, anonymous = committed
        who = " (git has no user.name/user.email: committed as 'qv init')" if anonymous else ""
        lines.append(
            f"Initialised a Git repository on main and committed the tree: {sha[:12]}{who}"
        )
    cd = "" if dest.resolve() == Path.cwd().resolve() else f"cd {dest} && "
    lines += ["", "Next:"]
    if committed is None:
        lines.append(f"  {cd}git add -A && git commit -m 'qv init'   # sync deploys commits")
    commands = ("qv validate", f"qv sync --env dev --key-file {DEV_KEY}", "qv review")
    return lines + [f"  {cd}{command}" for command in commands]

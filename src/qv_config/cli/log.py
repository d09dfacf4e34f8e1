"""``qv log --env E`` — the commits that changed an environment's effective configuration."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.options import format_option
from qv_config.cli.state import OPTIONS

if TYPE_CHECKING:
    from qv_config.diff.log import LogEntry


_FORMAT = format_option("text", "text", "json")


@app.command("log")
def log_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    selectors: list[str] = typer.Argument(None, help="kind/name globs, e.g. strategy/*"),
    limit: int = typer.Option(20, "-n", "--max-count", min=1, help="Show at most N commits."),
    rev: str = typer.Option("HEAD", "--rev", help="Start from this revision."),
    output_format: str = _FORMAT,
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Show changed secrets in plaintext, old → new (needs the age key)."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="age key file for --decrypt (default: SOPS_AGE_KEY_FILE)."
    ),
) -> None:
    """List commits with author, date, message and the effective change each made.

    Secret fields show no value unless --decrypt asks for the plaintext of changed ones.
    """
    from qv_config.cli.diff import check_key_file, print_markup
    from qv_config.cli.output import progress_bar, write
    from qv_config.diff import reporters
    from qv_config.diff.log import env_log
    from qv_config.errors import UsageError
    from qv_config.names import check_env, check_selectors
    from qv_config.render.selectors import parse_selectors, selected
    from qv_config.repo import find_root

    if output_format not in ("text", "json"):
        raise UsageError(f"unknown format {output_format!r}", hint="choose text or json")
    check_key_file(decrypt, key_file)
    check_env(env)
    chosen = parse_selectors(check_selectors(selectors or []))

    def keep(ref: str) -> bool:  # ref is "kind-slug/name"; selectors accept slugs
        slug, _, name = ref.partition("/")
        return selected(chosen, slug, name)

    root = find_root(OPTIONS.start_dir())
    entries = env_log(
        root,
        env,
        rev=rev,
        limit=limit,
        keep=keep,
        decrypt=decrypt,
        key_file=key_file,
        progress=progress_bar("commits", min_total=10),
    )
    if output_format == "json":
        data = [
            {
                "commit": e.commit.sha,
                "author": e.commit.author,
                "email": e.commit.email,
                "date": e.commit.date,
                "subject": e.commit.subject,
                "problem": e.problem or None,
                "diff": reporters.to_data(e.diff) if e.diff else None,
            }
            for e in entries
        ]
        write(reporters.json_dumps(data))
        return
    parts = [_commit_markup(e) for e in entries]
    print_markup("\n".join(parts) or f"no commit changed {env}'s effective configuration")


def _commit_markup(entry: LogEntry) -> str:
    """One commit as rich markup. Author, e-mail, date and subject are whatever the commit says:
    escaped and clipped (``safetext``), then kept from being read as markup."""
    from rich.markup import escape

    from qv_config.diff import reporters
    from qv_config.safetext import MESSAGE, safe

    def shown(text: str, limit: int = MESSAGE) -> str:
        return escape(safe(text, limit))

    c = entry.commit
    change = reporters.text(entry.diff) if entry.diff else f"  (not shown: {shown(entry.problem)})"
    return (
        f"[yellow]commit {shown(c.sha)}[/yellow]\nAuthor: {shown(c.author)} <{shown(c.email)}>\n"
        f"Date:   {shown(c.date)}\n\n    {shown(c.subject)}\n\n{change}\n"
    )

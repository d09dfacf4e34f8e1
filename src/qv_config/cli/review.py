"""``qv review`` — every environment's effective change in a pull request."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("review")
def review_command(
    base: str | None = typer.Option(
        None, "--base", help="Base revision (default: the merge-base with main)."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Show changed secrets in plaintext, old → new (needs the age key)."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="age key file for --decrypt (default: SOPS_AGE_KEY_FILE)."
    ),
) -> None:
    """Diff every environment between BASE and the work tree, template and base edits included.

    Secret fields show no value unless --decrypt asks for the plaintext of changed ones.
    """
    from qv_config.approvals.run import approvals_needed
    from qv_config.cli.diff import check_key_file, print_markup
    from qv_config.cli.output import console, write
    from qv_config.diff import reporters
    from qv_config.diff.run import review, short
    from qv_config.errors import UsageError
    from qv_config.repo import find_root
    from qv_config.repo.history import default_base

    if output_format not in ("text", "markdown", "json"):
        raise UsageError(f"unknown format {output_format!r}", hint="choose text, markdown or json")
    check_key_file(decrypt, key_file)
    root = find_root(OPTIONS.start_dir())
    base_rev = base or default_base(root)
    diffs = review(root, base_rev, None, decrypt=decrypt, key_file=key_file)
    needed = approvals_needed(root, base_rev)
    if output_format == "markdown":
        write(reporters.review_markdown(diffs, short(base_rev), "work tree") + needed.markdown)
    elif output_format == "json":
        data = {env: reporters.to_data(d) for env, d in diffs.items()}
        body = {"base": base_rev, "environments": data, "approvals": needed.data}
        write(reporters.json_dumps(body))
    else:
        print_markup("\n\n".join(reporters.text(diff) for diff in diffs.values()))
        console().print(needed.text, markup=False, highlight=False)

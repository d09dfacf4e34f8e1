"""``qv review`` — every environment's effective change in a pull request."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.options import format_option
from qv_config.cli.state import OPTIONS

_FORMAT = format_option("text", "text", "markdown", "json")

if TYPE_CHECKING:
    from qv_config.diff.model import EnvDiff


@app.command("review")
def review_command(
    base: str | None = typer.Option(
        None, "--base", help="Base revision (default: the merge-base with main)."
    ),
    output_format: str = _FORMAT,
    decrypt: bool = typer.Option(
        False, "--decrypt", help="Show changed secrets in plaintext, old → new (needs the age key)."
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="age key file for --decrypt (default: SOPS_AGE_KEY_FILE)."
    ),
    graph: bool = typer.Option(
        False,
        "--graph",
        help="With --format markdown: a Mermaid graph per environment of the changed documents' "
        "inheritance, the changed files (a template edit) outlined.",
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
    from qv_config.forge.source import EnvReviews
    from qv_config.repo import find_root
    from qv_config.repo.history import default_base

    if output_format not in ("text", "markdown", "json"):
        raise UsageError(f"unknown format {output_format!r}", hint="choose text, markdown or json")
    if graph and output_format != "markdown":
        raise UsageError("--graph draws Mermaid in --format markdown", hint="add --format markdown")
    check_key_file(decrypt, key_file)
    root = find_root(OPTIONS.start_dir())
    base_rev = base or default_base(root)
    diffs = review(root, base_rev, None, decrypt=decrypt, key_file=key_file)
    with EnvReviews(root) as github:  # read only when the base's policy lists github
        needed = approvals_needed(root, base_rev, sources=[github])
    if output_format == "markdown":
        graphs = _graphs(root, base_rev, diffs) if graph else None
        markdown = reporters.review_markdown(diffs, short(base_rev), "work tree", graphs)
        write(markdown + needed.markdown)
    elif output_format == "json":
        data = {env: reporters.to_data(d) for env, d in diffs.items()}
        body = {"base": base_rev, "environments": data, "approvals": needed.data}
        write(reporters.json_dumps(body))
    else:
        print_markup("\n\n".join(reporters.text(diff) for diff in diffs.values()))
        console().print(needed.text, markup=False, highlight=False)


def _graphs(root: Path, base: str, diffs: Mapping[str, EnvDiff]) -> dict[str, str]:
    from qv_config.graph import to_mermaid
    from qv_config.graph.review import review_graphs

    return {env: to_mermaid(g) for env, g in review_graphs(root, base, diffs).items()}

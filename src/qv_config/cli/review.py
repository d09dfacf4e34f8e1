"""``qv review`` — every environment's effective change in a pull request."""

from __future__ import annotations

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("review")
def review_command(
    base: str | None = typer.Option(
        None, "--base", help="Base revision (default: the merge-base with main)."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
) -> None:
    """Diff every environment between BASE and the work tree, template and base edits included."""
    import orjson

    from qv_config.cli.diff import print_markup
    from qv_config.cli.output import write
    from qv_config.diff import reporters
    from qv_config.diff.run import review, short
    from qv_config.errors import UsageError
    from qv_config.repo import find_root
    from qv_config.repo.history import default_base

    if output_format not in ("text", "markdown", "json"):
        raise UsageError(f"unknown format {output_format!r}", hint="choose text, markdown or json")
    root = find_root(OPTIONS.start_dir())
    base_rev = base or default_base(root)
    diffs = review(root, base_rev, None)
    if output_format == "markdown":
        write(reporters.review_markdown(diffs, short(base_rev), "work tree"))
    elif output_format == "json":
        data = {env: reporters.to_data(d) for env, d in diffs.items()}
        write(
            orjson.dumps(
                {"base": base_rev, "environments": data}, option=orjson.OPT_INDENT_2
            ).decode()
        )
    else:
        print_markup("\n\n".join(reporters.text(diff) for diff in diffs.values()))

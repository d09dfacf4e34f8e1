"""``qv promote SOURCE TARGET [SELECTOR...]`` — carry SOURCE's configuration to the next
environment on a new branch (SPEC §7)."""

from __future__ import annotations

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("promote")
def promote_command(
    source: str = typer.Argument(..., help="The environment promoted from (e.g. dev)."),
    target: str = typer.Argument(..., help="The environment promoted to (e.g. staging)."),
    selectors: list[str] = typer.Argument(
        None, help="kind/name with shell-style globs (strategy/momentum-eu); default: all."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the plan and the edits; make no branch."
    ),
    skip_order: bool = typer.Option(
        False, "--skip-order", help="Allow a TARGET that is not the next environment of qv.yaml."
    ),
    branch: str | None = typer.Option(
        None, "--branch", help="Name of the new branch (default qv/promote/SRC-to-TGT/SHA)."
    ),
    push: bool = typer.Option(False, "--push", help="Push the new branch."),
    remote: str = typer.Option("origin", "--remote", help="The remote --push pushes to."),
    open_pr: bool = typer.Option(
        False,
        "--open-pr",
        help="Push the branch and open its pull request on GitHub, the markdown diff as its"
        " body (GITHUB_TOKEN; docs/forge.md). Open already: its body is updated.",
    ),
    base: str | None = typer.Option(
        None, "--base", help="The branch the pull request goes into (default: the one checked out)."
    ),
    output_format: str = typer.Option("text", "--format", "-f", help="text | json | markdown"),
) -> None:
    """Make TARGET's documents equal SOURCE's (env-specific fields aside) with the smallest
    edits of TARGET's overlays, committed on a new branch; the work tree is not touched.

    Secrets are never copied: a secret that differs is listed for `qv secrets edit`.
    """
    from qv_config.cli.output import write
    from qv_config.names import check_env, check_selectors
    from qv_config.promote import promote
    from qv_config.promote.report import get
    from qv_config.repo import find_root

    reporter = get(output_format)
    done = promote(
        find_root(OPTIONS.start_dir()),
        check_env(source),
        check_env(target),
        check_selectors(selectors or []),
        skip_order=skip_order,
        dry_run=dry_run,
        branch=branch,
        push=push,
        remote=remote,
        open_pr=open_pr,
        base=base,
    )
    write(reporter(done))

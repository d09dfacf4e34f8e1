"""``qv approvals`` — each rule of the base's policy, who approved, what is missing (exit 1)."""

from __future__ import annotations

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("approvals")
def approvals_command(
    envs: list[str] = typer.Option(
        [], "--env", "-e", help="Environment (repeatable; default: every one of qv.yaml)."
    ),
    base: str | None = typer.Option(
        None, "--base", help="Base revision (default: the deployed one, else the merge-base)."
    ),
    rev: str = typer.Option("HEAD", "--rev", help="The revision to be approved."),
    store: str | None = typer.Option(None, "--store", help="Store that says what is deployed."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json | markdown"),
    pull: int | None = typer.Option(
        None,
        "--pr",
        min=1,
        help="Pull request whose reviews count (policy sources: github; needs GITHUB_TOKEN)."
        " Default: QV_PULL_REQUEST, the workflow run's, else the one of REV's commit.",
    ),
) -> None:
    """Check the approvals of the change from BASE to REV: exit 1 while the policy is not met."""
    from qv_config.approvals import reporters
    from qv_config.approvals.run import verdicts
    from qv_config.cli.output import write
    from qv_config.forge.source import EnvReviews
    from qv_config.names import check_env
    from qv_config.repo import find_root

    reporter = reporters.get(fmt)
    names = [check_env(env) for env in envs]
    root = find_root(OPTIONS.start_dir())
    with EnvReviews(root, pull) as github:  # asked only when the base's policy lists github
        found = verdicts(root, names, base, rev, store=store, sources=[github])
    write(reporter(found))
    if not all(v.met for v in found):
        raise typer.Exit(1)

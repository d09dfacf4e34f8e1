"""`qv graph --env E [SELECTOR...] [--format mermaid|dot|svg] [--rev REV]`: the inheritance of
documents (templates, bases, overlays and the fields each sets) as a diagram."""

from __future__ import annotations

import typer

from qv_config.cli.app import app

_FORMATS = ("mermaid", "dot", "svg")


@app.command("graph")
def graph_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment to draw."),
    selectors: list[str] | None = typer.Argument(
        None, metavar="[SELECTOR]...", help="kind/name with shell globs, e.g. strategy/* ."
    ),
    fmt: str = typer.Option(
        "mermaid", "--format", "-f", help="mermaid | dot | svg (svg needs Graphviz's dot)."
    ),
    rev: str | None = typer.Option(
        None, "--rev", help="Draw a Git revision (work tree untouched)."
    ),
) -> None:
    """Draw which templates, bases and overlays make each document, with the fields each sets."""
    from qv_config.cli.output import write
    from qv_config.cli.render import _fail_on, _fail_on_project, _snapshot
    from qv_config.errors import UsageError
    from qv_config.graph import environment_graph, to_dot, to_mermaid, to_svg
    from qv_config.names import check_env, check_selectors
    from qv_config.render.desired import load_problems

    if fmt not in _FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint="use mermaid, dot or svg")
    check_env(env)
    check_selectors(selectors or [])
    snapshot = _snapshot(rev)
    _fail_on_project(snapshot)
    graph, findings = environment_graph(snapshot, env, selectors or [])
    _fail_on([*load_problems(snapshot, env), *findings], env)
    if fmt == "mermaid":
        write(to_mermaid(graph))
    else:
        write(to_svg(to_dot(graph)) if fmt == "svg" else to_dot(graph))

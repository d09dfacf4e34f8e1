"""`qv flags eval | list` — evaluate a flag for a context and say why; list flags side by side.

Registered in ``cli/app.py:_register`` with ``app.add_typer(flags_app, name="flags")``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from qv_config.flags.source import EnvFlags
    from qv_config.repo.types import Snapshot

flags_app = typer.Typer(
    name="flags",
    help="Evaluate feature flags as Unleash does, and list them across environments.",
    no_args_is_help=True,
    add_completion=False,
)
_FORMATS = ("text", "json")


@flags_app.command("eval")
def eval_command(
    flag: str = typer.Argument(..., help="Flag name."),
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    context: list[str] | None = typer.Option(
        None,
        "--context",
        "-c",
        metavar="KEY=VALUE",
        help="A context field (userId, sessionId, remoteAddress, environment, appName, "
        "currentTime; any other key is a custom property); repeat for more.",
    ),
    rev: str | None = typer.Option(None, "--rev", help="Evaluate the flags of a Git revision."),
    store: str | None = typer.Option(
        None, "--store", help="Evaluate the flags as last applied to this store URL."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
) -> None:
    """Is FLAG on for this context in ENV, and why (strategies, constraints, buckets)."""
    from qv_config.cli.output import write
    from qv_config.errors import UsageError
    from qv_config.flags import compile_state
    from qv_config.flags.context import from_pairs
    from qv_config.flags.explain import explain
    from qv_config.flags.reporters import eval_json, eval_text

    _check(fmt, env)
    if rev is not None and store is not None:
        raise UsageError("--rev and --store name two sources", hint="give one of them")
    try:
        ctx = from_pairs(context or [])
    except ValueError as bad:
        raise UsageError(
            f"--context {bad} is not KEY=VALUE", hint="e.g. --context userId=42"
        ) from None
    flags = _from_store(store, env) if store is not None else _rendered(_snapshot(rev), env)
    state = compile_state(_document(flags))
    if flag not in state:
        _unknown(flag, env, state.names())
    result = explain(state, flag, ctx)
    write(eval_json(result, env) if fmt == "json" else eval_text(result, env))


@flags_app.command("list")
def list_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment whose flags are listed."),
    rev: str | None = typer.Option(None, "--rev", help="List the flags of a Git revision."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | json"),
) -> None:
    """Type, owner, expiry and state in every environment of ENV's flags; stale ones marked."""
    from datetime import date

    from qv_config.cli.output import write
    from qv_config.flags.listing import listing
    from qv_config.flags.reporters import list_json, list_text

    _check(fmt, env)
    snapshot = _snapshot(rev)
    own = _rendered(snapshot, env)  # an unknown environment is refused here, by name
    per_env = {
        name: own if name == env else _rendered(snapshot, name) for name in snapshot.env_names
    }
    result = listing(env, per_env, date.today())
    write(list_json(result) if fmt == "json" else list_text(result))


def _check(fmt: str, env: str) -> None:
    from qv_config.errors import UsageError
    from qv_config.names import check_env

    if fmt not in _FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint="use text or json")
    check_env(env)


def _snapshot(rev: str | None) -> Snapshot:
    from qv_config.cli.render import _snapshot as load

    return load(rev)


def _rendered(snapshot: Snapshot, env: str) -> EnvFlags:
    from qv_config.cli.render import _fail_on, _fail_on_project
    from qv_config.flags import source

    _fail_on_project(snapshot)
    flags, problems = source.rendered(snapshot, env)
    _fail_on(problems, env)
    return flags


def _from_store(url: str, env: str) -> EnvFlags:
    from qv_config.cli.state import OPTIONS
    from qv_config.flags import source
    from qv_config.repo import find_root

    root: Path = find_root(OPTIONS.start_dir())
    return source.from_store(url, root, env)


def _document(flags: EnvFlags) -> dict[str, object]:
    from qv_config.errors import UsageError
    from qv_config.flags.unleash import UnknownSegment

    try:
        return flags.document()
    except UnknownSegment as err:
        hint = "declare it in spec.segments (qv validate: QV504)"
        raise UsageError(str(err), hint=hint) from None


def _unknown(flag: str, env: str, names: list[str]) -> None:
    import difflib

    from qv_config.errors import UsageError

    close = difflib.get_close_matches(flag, names, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "qv flags list --env ENV lists them"
    raise UsageError(f"no flag {flag!r} in environment {env!r}", hint=hint)

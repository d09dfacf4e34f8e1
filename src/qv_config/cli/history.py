"""`qv history` — the audit log of an environment's store: applies, rollbacks, refusals."""

from __future__ import annotations

import typer

from qv_config.cli.app import app
from qv_config.cli.options import TEXT_OR_JSON
from qv_config.cli.state import OPTIONS


@app.command("history")
def history_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    limit: int = typer.Option(20, "-n", help="Show the N newest entries.", min=1),
    fmt: str = TEXT_OR_JSON,
) -> None:
    """List the applies recorded in the store's audit log, newest first."""
    from qv_config.cli.sync import check_format, show
    from qv_config.names import check_env
    from qv_config.repo import find_root
    from qv_config.store import open_store, report
    from qv_config.store.source import check_known_env, store_url_for

    check_format(fmt)
    check_env(env)
    root = find_root(OPTIONS.start_dir())
    check_known_env(root, env)
    target = open_store(store_url_for(root, env, store), root, create=False)
    try:
        entries = target.audit(env, limit)
    finally:
        target.close()
    show(fmt, lambda: report.history_text(env, entries), lambda: report.history_json(entries))

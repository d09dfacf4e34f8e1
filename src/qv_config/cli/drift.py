"""`qv drift` — out-of-band edits in the store, and pending changes, reported apart (SPEC §6)."""

from __future__ import annotations

from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import KEY_FILE, using_key_file
from qv_config.cli.options import TEXT_OR_JSON
from qv_config.cli.state import OPTIONS


@app.command("drift")
def drift_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    rev: str = typer.Option("HEAD", "--rev", help="Branch tip to compare for pending changes."),
    fmt: str = TEXT_OR_JSON,
    key_file: Path | None = KEY_FILE,
) -> None:
    """Compare the store with its recorded revision (drift: exit 1) and with the tip (pending)."""
    from qv_config.cli.sync import check_format, show
    from qv_config.names import check_env
    from qv_config.repo import find_root
    from qv_config.store import open_store, report
    from qv_config.store.driftcheck import drift_report, read_deployed
    from qv_config.store.source import store_url_for

    check_format(fmt)
    check_env(env)
    root = find_root(OPTIONS.start_dir())
    target = open_store(store_url_for(root, env, store), root, create=False)
    try:
        deployed = read_deployed(target, env)
    finally:
        target.close()
    # Renders only when the tip's inputs differ from the deployed ones (store/driftcheck.py).
    with using_key_file(key_file):
        result = drift_report(root, env, rev, deployed)
    shown = target.url.display
    show(fmt, lambda: report.drift_text(result, shown), lambda: report.drift_json(result, shown))
    if result.out_of_band:
        raise typer.Exit(1)

"""`qv drift` — out-of-band edits in the store, and pending changes, reported apart (SPEC §6)."""

from __future__ import annotations

import typer

from qv_config.cli.app import app
from qv_config.cli.state import OPTIONS


@app.command("drift")
def drift_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    rev: str = typer.Option("HEAD", "--rev", help="Branch tip to compare for pending changes."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
) -> None:
    """Compare the store with its recorded revision (drift: exit 1) and with the tip (pending)."""
    from qv_config.cli.sync import check_format, show
    from qv_config.repo import find_root
    from qv_config.store import compute_drift, open_store, report
    from qv_config.store.apply import read_meta
    from qv_config.store.source import render_desired, store_url_for

    check_format(fmt)
    root = find_root(OPTIONS.start_dir())
    target = open_store(store_url_for(root, env, store), root)
    try:
        state = target.read(env)
        recorded = read_meta(target, env, state.meta_raw)
    finally:
        target.close()
    tip = render_desired(root, env, rev, check=False)
    if recorded is None:
        recorded_values: dict[str, bytes] = {}
    elif recorded.revision == tip.revision:
        recorded_values = dict(tip.values)
    else:
        recorded_values = dict(render_desired(root, env, recorded.revision, check=False).values)
    result = compute_drift(
        env, recorded, state.values, recorded_values, tip.revision, tip.digest, tip.values
    )
    shown = target.url.display
    show(fmt, report.drift_text(result, shown), report.drift_json(result, shown))
    if result.out_of_band:
        raise typer.Exit(1)

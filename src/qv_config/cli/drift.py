"""`qv drift` — out-of-band edits in the store, and pending changes, reported apart (SPEC §6)."""

from __future__ import annotations

from collections.abc import Mapping

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
    from qv_config.store import open_store, report
    from qv_config.store.apply import read_meta
    from qv_config.store.drift import compute_drift_hashes
    from qv_config.store.layout import full_hashes
    from qv_config.store.source import desired_hashes, store_url_for

    check_format(fmt)
    root = find_root(OPTIONS.start_dir())
    target = open_store(store_url_for(root, env, store), root)
    try:
        state = target.read(env)
        recorded = read_meta(target, env, state.meta_raw)
    finally:
        target.close()
    # Hashes, not values: the desired ones come from .qv/cache/desired/ when nothing that can
    # change the environment moved since the last run (store/desiredcache.py).
    tip = desired_hashes(root, env, rev)
    if recorded is None:
        recorded_hashes: Mapping[str, str] = {}
    elif recorded.revision == tip.revision:
        recorded_hashes = tip.hashes
    else:
        recorded_hashes = desired_hashes(root, env, recorded.revision).hashes
    result = compute_drift_hashes(
        env,
        recorded,
        full_hashes(state.values),
        recorded_hashes,
        tip.revision,
        tip.digest,
        tip.hashes,
    )
    shown = target.url.display
    show(fmt, report.drift_text(result, shown), report.drift_json(result, shown))
    if result.out_of_band:
        raise typer.Exit(1)

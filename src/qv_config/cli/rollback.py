"""`qv rollback` — re-apply a state deployed before, recording who, when and why (SPEC §6)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import KEY_FILE, using_key_file
from qv_config.cli.options import TEXT_OR_JSON
from qv_config.cli.state import OPTIONS

if TYPE_CHECKING:
    from qv_config.store import ApplyResult, Store


@app.command("rollback")
def rollback_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment."),
    to: str = typer.Option(..., "--to", help="Revision or digest deployed before."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    fmt: str = TEXT_OR_JSON,
    key_file: Path | None = KEY_FILE,
) -> None:
    """Go back to a state found in the audit log, without new approvals."""
    from qv_config.cli.sync import check_format, show
    from qv_config.errors import UsageError
    from qv_config.names import check_env
    from qv_config.repo import find_root
    from qv_config.store import open_store, report
    from qv_config.store.gitrev import try_resolve
    from qv_config.store.layout import whoami
    from qv_config.store.source import store_url_for

    check_format(fmt)
    check_env(env)
    if not reason.strip():
        raise UsageError("--reason must say why", hint="e.g. --reason 'latency regression'")
    root = find_root(OPTIONS.start_dir())
    target = open_store(store_url_for(root, env, store), root, create=False)
    try:
        with using_key_file(key_file):
            result = _rollback(target, root, env, to, reason, try_resolve(root, to), whoami(root))
    finally:
        target.close()
    shown = target.url.display
    show(fmt, lambda: report.apply_text(result, shown), lambda: report.apply_json(result, shown))


def _rollback(
    target: Store, root: Path, env: str, to: str, reason: str, full_sha: str | None, by: str
) -> ApplyResult:
    from qv_config.errors import CheckFailed
    from qv_config.store import apply_desired, rollback_target
    from qv_config.store.source import render_desired

    entry = rollback_target(target, env, to, full_sha)
    # Validated when deployed; the hashes are cached, as sync does.
    desired = render_desired(root, env, entry.revision, check=False, cache_root=root)
    if desired.digest != entry.digest:
        raise CheckFailed(
            f"rendering {entry.revision[:12]} now gives digest {desired.digest[:12]}, but "
            f"{entry.digest[:12]} was deployed; refusing to roll back to a different state",
            hint="sync a fixed revision forward instead",
        )
    return apply_desired(
        target,
        desired,
        is_descendant=lambda _a, _b: True,
        applied_by=by,
        approvals=entry.approvals,
        action="rollback",
        reason=reason,
    )

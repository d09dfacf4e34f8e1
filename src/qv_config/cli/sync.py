"""`qv sync` — apply an environment's desired state to its runtime store once (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import KEY_FILE, using_key_file
from qv_config.cli.options import TEXT_OR_JSON
from qv_config.cli.state import OPTIONS

if TYPE_CHECKING:
    from qv_config.gate.apply import SyncRequest
    from qv_config.progress import Progress
    from qv_config.store.protocol import Store
    from qv_config.store.types import ApplyResult

_FORMATS = ("text", "json")


def check_format(fmt: str) -> None:
    if fmt not in _FORMATS:
        from qv_config.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}", hint="use --format text or --format json")


def show(fmt: str, text: Callable[[], str], data: Callable[[], str]) -> None:
    """Print the view ``fmt`` asks for; only that one is built (a first deploy's JSON plan
    lists every key: ~15 ms at 20,000 keys, for nothing when the text is shown)."""
    from qv_config.cli.output import console, write

    if fmt == "json":
        write(data())
    else:
        console().print(text(), markup=False, highlight=False)


@app.command("sync")
def sync_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment to apply."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store)."
    ),
    rev: str = typer.Option("HEAD", "--rev", help="Git revision to deploy."),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Plan only, and ask the gate (exit 1 when it would refuse); write nothing.",
    ),
    heal: bool = typer.Option(
        False,
        "--heal",
        help="Also restore keys edited outside qv (what `qv drift` reports); reads every value.",
    ),
    fmt: str = TEXT_OR_JSON,
    key_file: Path | None = KEY_FILE,
    break_glass: bool = typer.Option(
        False,
        "--break-glass",
        help="Apply even though approvals are missing (needs --reason; recorded as such).",
    ),
    reason: str | None = typer.Option(
        None, "--reason", help="Why --break-glass is needed (recorded in _meta and the audit log)."
    ),
) -> None:
    """Apply ENV's desired state at REV to the store: atomic, fenced, minimal, monotonic.

    A state that the policy of the deployed state asks approvals of is applied only when they
    are met (else exit 1, naming the missing rules), or with --break-glass --reason TEXT.
    Without --heal an unchanged digest writes nothing, even if keys were edited behind qv's back;
    with --heal those keys are restored too (in the same single transaction).
    """
    from qv_config.cli.output import spinner
    from qv_config.gate.apply import SyncRequest
    from qv_config.names import check_env
    from qv_config.repo import find_root
    from qv_config.store import open_store
    from qv_config.store.layout import whoami
    from qv_config.store.source import store_url_for

    check_format(fmt)
    check_env(env)
    glass = _break_glass(break_glass, reason)
    root = find_root(OPTIONS.start_dir())
    url = store_url_for(root, env, store)
    target = open_store(url, root, dry_run=dry_run)  # a dry run never creates a store
    try:
        request = SyncRequest(whoami(root), dry_run, heal, glass)
        with using_key_file(key_file), spinner(f"syncing {env}") as progress:
            result = _sync(root, target, env, rev, request, progress)
        drifted = () if heal or result.old is None else _drifted(target, env)
    finally:
        target.close()
    from qv_config.store import report  # here: imported while the workers rendered (_prepare)

    shown = target.url.display
    show(
        fmt,
        lambda: report.apply_text(result, shown, drifted),
        lambda: report.apply_json(result, shown, drifted),
    )


def _break_glass(on: bool, reason: str | None) -> str:
    from qv_config.errors import UsageError

    if on and not (reason or "").strip():
        raise UsageError(
            "--break-glass needs --reason TEXT saying why",
            hint="e.g. --break-glass --reason 'INC-1234: exchange outage, limits relaxed'",
        )
    if reason is not None and not on:
        raise UsageError("--reason goes with --break-glass", hint="drop --reason, or add it")
    return (reason or "").strip() if on else ""


def _drifted(target: Store, env: str) -> tuple[str, ...]:
    """Keys edited outside qv that a sync without --heal leaves (said, never hidden): read
    from the hash index its last apply wrote, nothing rendered. Not asked after a first deploy
    (``result.old`` None): with no index to plan from, the apply read the whole store and
    wrote every value and the index (a dry run: no index either), so none can differ."""
    from qv_config.store.driftcheck import read_deployed

    return read_deployed(target, env).drifted() or ()


def _sync(
    root: Path, target: Store, env: str, rev: str, req: SyncRequest, progress: Progress
) -> ApplyResult:
    from qv_config.gate.apply import gated_apply
    from qv_config.store.apply import unchanged_inputs
    from qv_config.store.desiredcache import input_key, tip_stamp
    from qv_config.store.source import render_desired

    resolved = input_key(root, env, rev)
    if resolved is not None and not req.heal:  # the deployed inputs: nothing to read or render
        unchanged = unchanged_inputs(target, env, partial(tip_stamp, root, env, resolved))
        if unchanged is not None:
            return unchanged
    # Its hashes go to .qv/cache/desired/ too: `qv drift` after a pending commit stays warm.
    desired = render_desired(
        root, env, rev, cache_root=root, resolved=resolved, progress=progress, meanwhile=_prepare
    )
    return gated_apply(root, target, desired, req)


def _prepare() -> None:
    """Import what the gate, the apply and the report need (~60 ms) while workers render."""
    import qv_config.approvals.checks
    import qv_config.approvals.policy
    import qv_config.gate.apply
    import qv_config.gate.check
    import qv_config.store.apply
    import qv_config.store.gitrev
    import qv_config.store.report  # noqa: F401  (imported for their side effect: loaded)
    from qv_config.cli.output import console

    console()

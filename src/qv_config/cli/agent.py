"""`qv agent` — keep ENV's runtime store at the tip of a Git branch (SPEC §6).

Logs are JSON lines on stderr (the agent's output is for log shippers); ``--once`` runs one cycle
and exits with one of ``ONCE_EXITS`` (listed in ``--help`` and docs/agent.md).
Run it before registration in ``cli/app.py`` with ``python -m qv_config.cli.agent agent ...``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from qv_config.cli.app import app
from qv_config.cli.keys import KEY_FILE, using_key_file
from qv_config.cli.state import OPTIONS

ONCE_EXITS = (
    "0 applied or up to date; 1 refused (approvals, invalid state, history rewritten, unreadable"
    " _meta); 2 usage (unknown branch, bad option); 3 operational (Git, store or key missing,"
    " lease held by another agent)"
)


def _check(interval: float, lease_ttl: float, max_backoff: float) -> None:
    from qv_config.errors import UsageError

    if interval <= 0 or max_backoff <= 0:
        raise UsageError("--interval and --max-backoff must be positive seconds")
    if lease_ttl <= interval:
        raise UsageError(
            f"--lease-ttl ({lease_ttl:g} s) must be longer than --interval ({interval:g} s)",
            hint="the lease is renewed once per cycle; use a TTL of about three intervals",
        )


def _install_signals(stop: object) -> Callable[[], None]:
    """SIGTERM and SIGINT end the loop after the cycle in progress; returns what puts the
    previous handlers back (a process that calls ``main`` again, as tests do, keeps its own)."""
    import signal
    import threading

    assert isinstance(stop, threading.Event)

    def handler(signum: int, _frame: object) -> None:
        stop.set()  # the cycle in progress finishes its current (atomic) apply, then the loop ends

    before = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in before.items():
            signal.signal(sig, old)

    return restore


@app.command("agent")
def agent_command(
    env: str = typer.Option(..., "--env", "-e", help="Environment to keep in sync."),
    source: str = typer.Option(..., "--source", help="Git URL or path of the config repo."),
    branch: str = typer.Option("main", "--branch", help="Branch to deploy from."),
    store: str | None = typer.Option(
        None, "--store", help="Store URL (else QV_STORE, then spec.store at the tip)."
    ),
    interval: float = typer.Option(5.0, "--interval", help="Seconds between cycles."),
    once: bool = typer.Option(False, "--once", help=f"Run one cycle and exit: {ONCE_EXITS}."),
    self_heal: bool = typer.Option(False, "--self-heal", help="Restore out-of-band edits."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve /metrics and /healthz on this port."
    ),
    lease_ttl: float = typer.Option(15.0, "--lease-ttl", help="Writer lease TTL in seconds."),
    cache_dir: Path | None = typer.Option(
        None, "--cache-dir", help="Mirror clone location (default .qv/agent/<hash of url>/)."
    ),
    max_backoff: float = typer.Option(
        60.0, "--max-backoff", help="Cap in seconds of the backoff after failed cycles."
    ),
    key_file: Path | None = KEY_FILE,
) -> None:
    """Fetch, walk first-parent history to the tip, gate and apply each state; keep doing it."""
    import sys

    from qv_config.agent.health import Health
    from qv_config.agent.jsonlog import JsonLog
    from qv_config.agent.loop import Agent
    from qv_config.agent.metrics import new_metrics
    from qv_config.agent.source import default_cache_dir
    from qv_config.agent.types import AgentConfig
    from qv_config.names import check_env

    _check(interval, lease_ttl, max_backoff)
    check_env(env)
    workdir = OPTIONS.start_dir().resolve()
    config = AgentConfig(
        env=env,
        source=source,
        branch=branch,
        store_url=store,
        interval=interval,
        self_heal=self_heal,
        lease_ttl=lease_ttl,
        cache_dir=(cache_dir or default_cache_dir(source, workdir)).resolve(),
        workdir=workdir,
        max_backoff=max_backoff,
    )
    metrics, health = new_metrics(), Health(interval)
    agent = Agent(config, JsonLog(sys.stderr, env), metrics, health)
    server = None
    if metrics_port is not None:
        from qv_config.agent.http import serve

        server = serve(metrics_port, metrics, health)
    restore = _install_signals(agent.stop)
    try:
        with using_key_file(key_file):
            code = agent.run(once=once)
    finally:
        restore()
        if server is not None:
            server.shutdown()
    _finish(agent.last if once else None, code)


def _finish(last: object, code: int) -> None:
    """After --once, a failed cycle also ends as one human line through the error boundary."""
    from qv_config.agent.types import CycleResult
    from qv_config.errors import CheckFailed, OperationalError, UsageError

    if isinstance(last, CycleResult) and code != 0:
        message = last.message or "another agent holds the writer lease"
        kind = {1: CheckFailed, 2: UsageError}.get(code, OperationalError)
        raise kind(message)
    raise typer.Exit(code)


if __name__ == "__main__":
    from qv_config.cli.__main__ import main

    main()

"""`qv init` — placeholder until its owner lands it."""

from __future__ import annotations

from qv_config.cli.app import app


@app.command("init")
def init_command() -> None:
    """Not yet implemented."""
    from qv_config.errors import OperationalError

    raise OperationalError("qv init is not implemented yet")

"""`qv render` — placeholder until its owner lands it."""

from __future__ import annotations

from qv_config.cli.app import app


@app.command("render")
def render_command() -> None:
    """Not yet implemented."""
    from qv_config.errors import OperationalError

    raise OperationalError("qv render is not implemented yet")

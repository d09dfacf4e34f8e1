"""Console helpers: rich consoles that respect TTY detection and NO_COLOR (SPEC §10)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    no_color = "NO_COLOR" in os.environ or not stream.isatty()
    return Console(
        file=stream,
        no_color=no_color,
        highlight=False,
        soft_wrap=True,
        force_terminal=None if not no_color else False,
    )


def write(text: str) -> None:
    """Write machine output verbatim (json, yaml, sarif) with no rich processing."""
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")

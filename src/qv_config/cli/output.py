"""Console helpers: rich consoles that respect TTY detection and NO_COLOR (SPEC §10).

Text printed through rich comes from the repository too: callers pass it escaped
(``qv_config.safetext``) and with ``markup=False`` unless they built the markup themselves with
every repository string escaped; emoji codes (``:warning:``) are never replaced.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from qv_config.progress import Progress


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    no_color = "NO_COLOR" in os.environ or not stream.isatty()
    return Console(
        file=stream,
        no_color=no_color,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        force_terminal=None if not no_color else False,
    )


def write(text: str) -> None:
    """Write machine output verbatim (json, yaml, sarif) with no rich processing."""
    sys.stdout.write(text)
    if text and not text.endswith("\n"):
        sys.stdout.write("\n")


class ProgressBar:
    """A rich progress bar on standard error, drawn only for long work (``min_total`` units or
    more: a one-change validation renders one document) and cleared at the end (the report
    that follows is the output)."""

    def __init__(self, console: Console, unit: str = "documents", min_total: int = 200) -> None:
        self._console = console
        self._unit = unit
        self._min_total = min_total
        self._bar: Any = None
        self._task: Any = None

    def start(self, label: str, total: int) -> None:
        if total < self._min_total:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        # No refresh thread: validation forks worker processes, and a thread holding the
        # console's locks at a fork could leave them locked in the child. Drawn on each step.
        self._bar = Progress(
            *columns,
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
            auto_refresh=False,
        )
        # The label names environments: escaped, and TextColumn reads it as markup.
        from rich.markup import escape as markup_escape

        from qv_config.safetext import safe

        description = markup_escape(safe(f"{label} ({self._unit})"))
        self._task = self._bar.add_task(description, total=total)
        self._bar.start()
        self._bar.refresh()

    def advance(self, amount: int) -> None:
        if self._bar is not None:
            self._bar.advance(self._task, amount)
            self._bar.refresh()

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def progress_bar(unit: str = "documents", min_total: int = 200) -> Progress:
    """A bar on standard error when it is a terminal; elsewhere (CI, pipes, files) nothing."""
    from qv_config.progress import NO_PROGRESS

    if not sys.stderr.isatty():
        return NO_PROGRESS
    return ProgressBar(console(stderr=True), unit, min_total)

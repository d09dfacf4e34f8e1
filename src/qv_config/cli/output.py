"""Console helpers: rich consoles that respect TTY detection and NO_COLOR (SPEC §10).

Text printed through rich comes from the repository too: callers pass it escaped
(``qv_config.safetext``) and with ``markup=False`` unless they built the markup themselves with
every repository string escaped; emoji codes (``:warning:``) are never replaced.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
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
        self._drawn = 0.0  # when the bar was last drawn (time.monotonic)

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
            # Work reported document by document: drawn at most ten times a second.
            now = time.monotonic()
            if now - self._drawn >= 0.1 or self._bar.finished:
                self._drawn = now
                self._bar.refresh()

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class Spinner:
    """A spinner on standard error while work goes on, with the documents done so far; cleared
    at the end. Drawn from the thread doing the work, at most ten times a second, on each piece
    of progress (no refresh thread: validation forks workers; their count arrives ten times a
    second while they run, ``repo.prefetch.in_workers``)."""

    def __init__(self, console: Console, label: str) -> None:
        self._console, self._label = console, label
        self._live: Any = None
        self._spinner: Any = None
        self._done, self._drawn = 0, 0.0

    def start(self, label: str, total: int) -> None:
        from rich.live import Live
        from rich.spinner import Spinner as RichSpinner

        if self._live is None:
            self._spinner = RichSpinner("dots")
            self._live = Live(console=self._console, transient=True, auto_refresh=False)
            self._live.start()
        self._label, self._done = label or self._label, 0  # a new phase counts its own
        self._draw(force=True)

    def advance(self, amount: int) -> None:
        self._done += amount
        self._draw()

    def stop(self) -> None:
        """A phase of the work is over (validation, say): the spinner goes on until ``close``."""

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._live is None or (not force and now - self._drawn < 0.1):
            return
        from rich.text import Text

        from qv_config.safetext import safe

        self._drawn = now
        count = f" ({self._done} documents)" if self._done else ""
        self._spinner.text = Text(safe(f"{self._label}{count}"))  # names an environment
        self._live.update(self._spinner, refresh=True)


@contextlib.contextmanager
def spinner(label: str) -> Iterator[Progress]:
    """A spinner on standard error while the block runs, when it is a terminal; elsewhere (CI,
    pipes, files) nothing. Started with ``label``; the core may name its phases (``start``)."""
    from qv_config.progress import NO_PROGRESS

    if not sys.stderr.isatty():
        yield NO_PROGRESS
        return
    drawn = Spinner(console(stderr=True), label)
    drawn.start(label, 0)
    try:
        yield drawn
    finally:
        drawn.close()


def progress_bar(unit: str = "documents", min_total: int = 200) -> Progress:
    """A bar on standard error when it is a terminal; elsewhere (CI, pipes, files) nothing."""
    from qv_config.progress import NO_PROGRESS

    if not sys.stderr.isatty():
        return NO_PROGRESS
    return ProgressBar(console(stderr=True), unit, min_total)

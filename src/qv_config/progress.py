"""Progress of long work (SPEC §10: progress bars for long work).

The core reports through a ``Progress`` it is given and never draws; the CLI passes one that
draws a bar on a terminal (``cli.output.progress_bar``), and nothing otherwise.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int) -> None:
        """Work of ``total`` units begins (documents to render, for ``validate``)."""

    def advance(self, amount: int) -> None:
        """``amount`` more units are done."""

    def stop(self) -> None:
        """The work is over (also after an error)."""


class NoProgress:
    """Reports nowhere: the default of every core function."""

    def start(self, label: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def stop(self) -> None:
        pass


NO_PROGRESS: Progress = NoProgress()

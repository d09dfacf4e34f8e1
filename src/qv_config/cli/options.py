"""Options several commands share, made once: ``--format`` with its choices.

``--format`` shows its choices in ``--help`` (``--format [text|json]``) and completes them in a
shell (``qv --install-completion``). The value is still checked by each command (or by the
reporter it names), which says what to use instead (exit 2), as before.
"""

from __future__ import annotations

from typing import Any

import typer


def format_option(default: str, *choices: str, short: bool = True) -> Any:
    """``--format`` (and ``-f`` when ``short``) with ``choices``, ``default`` first."""

    def complete(incomplete: str) -> list[str]:
        return [choice for choice in choices if choice.startswith(incomplete)]

    names = ("--format", "-f") if short else ("--format",)
    return typer.Option(
        default,
        *names,
        metavar=f"[{'|'.join(choices)}]",
        help=f"Output format: {', '.join(choices)}.",
        autocompletion=complete,
    )


TEXT_OR_JSON: Any = format_option("text", "text", "json", short=False)

"""Reporters of validation results, chosen by name: ``text``, ``json``, ``github``, ``sarif``.

``get(name)`` returns a callable ``reporter(result, *, read=None, color=False) -> str``; ``read``
gives the text reporter source lines (``snapshot.read``), ``color`` adds ANSI colour (the CLI
decides: a TTY without NO_COLOR).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from qv_config.errors import UsageError

if TYPE_CHECKING:
    from qv_config.validate.types import ValidationResult

Reader = Callable[[str], bytes | None]
NAMES = ("text", "json", "github", "sarif")


class Reporter(Protocol):
    def __call__(
        self, result: ValidationResult, *, read: Reader | None = None, color: bool = False
    ) -> str: ...


def get(name: str) -> Reporter:
    """The reporter called ``name``; UsageError (exit 2) listing the names otherwise."""
    if name == "text":
        from qv_config.report.text import render as text

        return text
    if name == "json":
        from qv_config.report.json import render as json

        return json
    if name == "github":
        from qv_config.report.github import render as github

        return github
    if name == "sarif":
        from qv_config.report.sarif import render as sarif

        return sarif
    raise UsageError(f"unknown format {name!r}", hint=f"choose one of: {', '.join(NAMES)}")


__all__ = ["NAMES", "Reader", "Reporter", "get"]

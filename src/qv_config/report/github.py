"""The ``github`` reporter: GitHub Actions workflow commands (``::error file=...::message``).

Escaping follows @actions/core exactly: data escapes ``%``, ``\\r``, ``\\n``; property values also
escape ``:`` and ``,``. Before that, text from the repository is made safe like in every format
(``qv_config.safetext``: no raw control character reaches the runner, which would end the
command line or start another), so a value can never close the command or open a second one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qv_config.report.fold import Folded, fold
from qv_config.safetext import safe

if TYPE_CHECKING:
    from qv_config.report import Reader
    from qv_config.validate.types import ValidationResult


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(entry: Folded) -> str:
    f = entry.finding
    props: list[tuple[str, str]] = []
    if f.file:
        props.append(("file", safe(f.file)))
        if f.line:
            props += [("line", str(f.line)), ("col", str(f.col or 1))]
    props.append(("title", f.code))
    message = f.message + (f" (in {entry.env_text})" if entry.envs else "")
    prop_text = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{f.severity.value} {prop_text}::{escape_data(message)}"


def render(result: ValidationResult, *, read: Reader | None = None, color: bool = False) -> str:
    lines = [command(entry) for entry in fold(result.findings, result.environments)]
    return "".join(line + "\n" for line in lines)

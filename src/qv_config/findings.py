"""Findings: the one result type of every check (YAML, structure, schema, rules, secrets, policy).

Produced by ``repo`` (load errors), ``render`` (inheritance/templating errors) and ``validate``;
turned into text, JSON, GitHub annotations or SARIF by ``qv_config.report``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, located at the file:line:col of the layer that set the offending value."""

    code: str  # stable code, e.g. "QV510"
    message: str  # one sentence: what is wrong and, where useful, what to do
    file: str  # repository-relative POSIX path ("" when no file applies)
    line: int = 0  # 1-based; 0 when unknown
    col: int = 0  # 1-based; 0 when unknown
    severity: Severity = Severity.ERROR
    env: str | None = None  # environment the finding applies to (None: all / not env-specific)
    kind: str | None = None  # document kind, e.g. "Strategy"
    name: str | None = None  # metadata.name
    field: str = ""  # dotted field path in the rendered document, e.g. "spec.limits.order_rate"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.code, self.env or "")


def dotted(path: tuple[str | int, ...]) -> str:
    """Render a field path as ``spec.stages[2].capital``."""
    out: list[str] = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        else:
            out.append(f".{part}" if out else part)
    return "".join(out)

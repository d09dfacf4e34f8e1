"""Findings: the one result type of every check (YAML, structure, schema, rules, secrets, policy).

Produced by ``repo`` (load errors), ``render`` (inheritance/templating errors) and ``validate``;
turned into text, JSON, GitHub annotations or SARIF by ``qv_config.report``.

A message is bounded where it is made, whichever rule made it: a rule may quote a value, and a
value can be a megabyte or an escape sequence (``qv_config.safetext``). The other fields stay
exact (they identify files and documents) and are made safe by the reporters (``shown``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from qv_config.safetext import bounded, safe


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

    def __post_init__(self) -> None:
        message = bounded(self.message)
        if message != self.message:
            object.__setattr__(self, "message", message)

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


def shown(finding: Finding) -> Finding:
    """``finding`` as a report shows it: environment, kind, name and field path escaped and
    clipped (a key or name from a document can be as hostile as a value). ``file`` stays exact:
    each format writes a path its own way (escaped text, a SARIF URI, a JSON string)."""
    texts = (finding.env or "", finding.kind or "", finding.name or "", finding.field)
    if all(safe(text) == text for text in texts):
        return finding
    return replace(
        finding,
        env=None if finding.env is None else safe(finding.env),
        kind=None if finding.kind is None else safe(finding.kind),
        name=None if finding.name is None else safe(finding.name),
        field=safe(finding.field),
    )

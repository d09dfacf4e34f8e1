"""The registry of finding codes and of the rules that produce them.

Rules register themselves by code with ``@rule(...)``; the engine asks the registry for the rules
of a stage, and the reporters ask it for summaries (SARIF rule descriptions). Codes produced
outside rules (YAML, structure, inheritance, schema) are listed here too so that every code a run
can report has a summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from qv_config.findings import Severity

# "files": rules over the whole snapshot, called once per run as func(snapshot, envs) -> findings
Stage = Literal["yaml", "structure", "schema", "document", "cross", "secrets", "files", "policy"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RuleInfo:
    code: str
    stage: Stage
    severity: Severity
    summary: str
    func: Callable[..., Any] | None = None


_RULES: dict[str, RuleInfo] = {}

# Codes raised by the loader, the renderer, the schema stage and the engine (not by registered
# rules).
_STATIC: tuple[tuple[str, Stage, str], ...] = (
    ("QV101", "yaml", "YAML syntax error"),
    ("QV102", "yaml", "duplicate key"),
    ("QV103", "yaml", "merge key << is not allowed"),
    ("QV104", "yaml", "more than one document in a file"),
    ("QV105", "yaml", "alias expansion beyond the bound"),
    ("QV106", "yaml", "file larger than the size bound"),
    ("QV107", "yaml", "file is not UTF-8"),
    ("QV108", "yaml", "top level is not a mapping, or the file is empty"),
    ("QV109", "yaml", "unknown tag (only !replace is known)"),
    ("QV111", "files", "symbolic link that qv does not read (out of the repository or its area)"),
    ("QV112", "files", "file name with a control character or bytes that are not UTF-8"),
    ("QV201", "structure", "missing or wrong apiVersion"),
    ("QV202", "structure", "unknown kind"),
    ("QV203", "structure", "missing or invalid metadata.name"),
    ("QV204", "structure", "environment folder or environment.yaml problem"),
    ("QV205", "structure", "qv.yaml missing or invalid"),
    ("QV210", "structure", "extends cycle"),
    ("QV211", "structure", "missing template"),
    ("QV212", "structure", "extends in an overlay"),
    ("QV213", "structure", "overlay's apiVersion/kind/name differ from its base"),
    ("QV220", "structure", "duplicate (kind, name) in one environment"),
    ("QV221", "structure", "name used twice in a name-keyed list"),
    ("QV222", "structure", "name of a name-keyed list item that is not text"),
    ("QV230", "structure", "undefined template variable"),
    ("QV231", "structure", "template sandbox violation"),
    ("QV232", "structure", "template syntax or evaluation error"),
    ("QV233", "structure", "template ran too long (time or steps)"),
    ("QV234", "structure", "template value or rendered document too large"),
    ("QV301", "schema", "unknown field in a built-in kind"),
    ("QV302", "schema", "missing required field"),
    ("QV303", "schema", "wrong type or value"),
    ("QV310", "schema", "Config document violates its service schema"),
    ("QV311", "schema", "Config schema missing or invalid"),
    ("QV408", "document", "value the desired state cannot hold (canonical JSON)"),
    (
        "QV606",
        "secrets",
        "sops ciphertext that sops does not decrypt (no sops: block, or not selected)",
    ),
)

_STATIC_INFO: dict[str, RuleInfo] = {
    code: RuleInfo(code, stage, Severity.ERROR, summary) for code, stage, summary in _STATIC
}


def rule(
    code: str, *, stage: Stage, severity: Severity = Severity.ERROR, summary: str
) -> Callable[[F], F]:
    """Register ``func`` as a rule producing ``code``; stack decorators for several codes."""

    def register(func: F) -> F:
        if code in _RULES and _RULES[code].func is not func:
            raise ValueError(f"rule {code} registered twice")
        _RULES[code] = RuleInfo(code, stage, severity, summary, func)
        return func

    return register


def _load_rules() -> None:
    # Importing the rule modules registers their rules; done on first use, not at import time.
    from qv_config.validate import rules  # noqa: F401


def rules_for(stage: Stage) -> list[RuleInfo]:
    _load_rules()
    return [info for code, info in sorted(_RULES.items()) if info.stage == stage]


_STAGE_FUNCS: dict[Stage, tuple[Callable[..., Any], ...]] = {}


def stage_functions(stage: Stage) -> tuple[Callable[..., Any], ...]:
    """The distinct rule functions of a stage (one function may produce several codes)."""
    funcs = _STAGE_FUNCS.get(stage)
    if funcs is None:  # called per document: computed once
        seen: dict[int, Callable[..., Any]] = {}
        for info in rules_for(stage):
            if info.func is not None:
                seen.setdefault(id(info.func), info.func)
        funcs = _STAGE_FUNCS[stage] = tuple(seen.values())
    return funcs


def describe(code: str) -> RuleInfo | None:
    _load_rules()
    return _RULES.get(code) or _STATIC_INFO.get(code)


def all_codes() -> list[RuleInfo]:
    """Every known code, sorted (SARIF rule table)."""
    _load_rules()
    merged = {**_STATIC_INFO, **_RULES}
    return [merged[code] for code in sorted(merged)]


def severity_of(code: str) -> Severity:
    info = describe(code)
    return info.severity if info else Severity.ERROR

"""Data passed between the validation engine, its rules, its cache and the reporters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from qv_config.findings import Finding
from qv_config.yamlio.types import FieldPath

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem found by a rule, before it is located in a file.

    ``key`` names the document (``env/kind-slug/name``) for cross-document rules; document rules
    leave it empty (the document being checked).
    """

    code: str
    path: FieldPath
    message: str
    key: str = ""


class DocFacts(NamedTuple):
    """The small part of a rendered document that the cross-document rules read.

    Kept small and plain (dict/list/scalars) so it can be cached across runs: a warm run runs the
    cross-document rules on facts without re-validating unchanged documents. A named tuple, not
    a frozen dataclass: a cold run builds one per document in this process (decoding the
    workers' and the memo's), and a frozen dataclass's ``__init__`` (four
    ``object.__setattr__``) costs three times ``_make`` (~6,600 vs ~2,100 instructions; 19,000
    documents of an environment at 50,000).
    """

    key: str
    kind: str
    name: str
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class CrossContext:
    """Everything a cross-document rule may read about one environment."""

    env: str
    docs: Mapping[str, DocFacts]
    environment: DocFacts | None
    today: date
    _derived: dict[Callable[..., Any], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @cached_property
    def _by_kind(self) -> dict[str, dict[str, DocFacts]]:
        out: dict[str, dict[str, DocFacts]] = {}
        for facts in self.docs.values():
            out.setdefault(facts.kind, {})[facts.name] = facts
        return out

    def of_kind(self, kind: str) -> dict[str, DocFacts]:
        """name -> facts of one kind in this environment."""
        return self._by_kind.get(kind, {})

    def derived(self, make: Callable[[CrossContext], T]) -> T:
        """``make(self)``, worked out once per environment: what several rules read of every
        document (each rule walking thousands of documents again is most of their time)."""
        if make not in self._derived:
            self._derived[make] = make(self)
        value: T = self._derived[make]
        return value

    @property
    def env_spec(self) -> Mapping[str, Any]:
        return self.environment.spec if self.environment else {}


@dataclass(frozen=True)
class ValidationStats:
    """How much work a run did: ``validated`` documents were checked, ``cached`` came from cache."""

    documents: int = 0
    validated: int = 0
    cached: int = 0


@dataclass(frozen=True)
class ValidationResult:
    findings: tuple[Finding, ...]  # sorted by file, line, col, code, env
    errors: int
    warnings: int
    environments: tuple[str, ...]
    files: int  # YAML files checked
    documents: int  # distinct (kind, name) rendered across the environments checked
    stats: ValidationStats = field(default_factory=ValidationStats, compare=False)

    @property
    def ok(self) -> bool:
        return self.errors == 0

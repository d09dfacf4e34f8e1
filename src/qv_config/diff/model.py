"""Results of a diff: what changed, per document and per field, with the risk direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from qv_config.findings import dotted
from qv_config.yamlio.types import FieldPath

Op = Literal["added", "removed", "changed"]
# A field also "reordered": the items of a name-keyed list kept their names but not their order
# (``old``/``new`` list the names both sides share, each side's order). Order is behaviour: an
# ExecutionPolicy's first matching rule wins.
FieldOp = Literal["added", "removed", "changed", "reordered"]
Risk = Literal["loosened", "tightened"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    path: FieldPath
    op: FieldOp
    old: Any = None
    new: Any = None
    risk: Risk | None = None
    secret: bool = False
    label: str = ""  # display path; name-keyed list items by name: "spec.venues[lse].port"
    # A changed secret: "(secret changed)" or "(encrypted; no key to compare)" (never a value).
    note: str = ""
    # A changed secret whose plaintexts ``old``/``new`` hold, because --decrypt asked for them.
    revealed: bool = False

    @property
    def field(self) -> str:
        return self.label or dotted(self.path)


@dataclass(frozen=True, slots=True)
class DocChange:
    """One document that differs. ``ref`` is ``kind-slug/name`` (environment-independent)."""

    ref: str
    kind: str
    name: str
    op: Op
    fields: tuple[FieldChange, ...] = ()

    @property
    def loosened(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.risk == "loosened")

    @property
    def tightened(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.risk == "tightened")


@dataclass(frozen=True, slots=True)
class EnvDiff:
    """The effective difference from ``left`` to ``right``; loosening documents first."""

    left: str
    right: str
    changes: tuple[DocChange, ...]

    def count(self, op: Op) -> int:
        return sum(1 for c in self.changes if c.op == op)

    @property
    def loosened_count(self) -> int:
        return sum(len(c.loosened) for c in self.changes)

    @property
    def empty(self) -> bool:
        return not self.changes

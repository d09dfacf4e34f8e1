"""``env_specific`` of ``qv.yaml``: the field paths that differ between environments by design.

``qv diff A B`` between two environments leaves them out (unless ``--all``) and ``qv promote``
never copies them. A path covers everything under it; ``*`` stands for any one key or list
item (``spec.venues.*.host``). The setting is a list (every kind) or a mapping by kind, whose
``'*'`` entry applies to every kind (SPEC §1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from qv_config.models import Project

Pattern = FieldPath  # of strings only; "*" for any one key or list item


@dataclass(frozen=True)
class EnvSpecific:
    """The patterns of every kind (``common``) and of each kind (``by_kind``)."""

    common: tuple[Pattern, ...] = ()
    by_kind: Mapping[str, tuple[Pattern, ...]] = field(default_factory=dict)

    def for_kind(self, kind: str) -> tuple[Pattern, ...]:
        return (*self.common, *self.by_kind.get(kind, ()))

    def covers(self, kind: str, path: FieldPath) -> bool:
        return covered(path, self.for_kind(kind))

    @property
    def empty(self) -> bool:
        return not self.common and not any(self.by_kind.values())


NOTHING = EnvSpecific()


def from_project(project: Project | None) -> EnvSpecific:
    """The ``env_specific`` of a validated ``qv.yaml`` (nothing when it is missing)."""
    if project is None:
        return NOTHING
    setting = project.spec.env_specific
    if isinstance(setting, list):
        return EnvSpecific(_patterns(setting))
    common = _patterns(setting.get("*", []))
    kinds = {str(kind): _patterns(paths) for kind, paths in setting.items() if kind != "*"}
    return EnvSpecific(common, kinds)


def _patterns(paths: Sequence[str]) -> tuple[Pattern, ...]:
    return tuple(tuple(path.split(".")) for path in paths)


def covered(path: FieldPath, patterns: Sequence[Pattern]) -> bool:
    """``path`` is at or under one of ``patterns`` (list indices match ``*`` or their number)."""
    return any(_under(path, pattern) for pattern in patterns)


def _under(path: FieldPath, pattern: Pattern) -> bool:
    if len(path) < len(pattern):
        return False
    for part, want in zip(path, pattern, strict=False):
        if want != "*" and want != (part if isinstance(part, str) else str(part)):
            return False
    return True

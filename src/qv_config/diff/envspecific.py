"""``env_specific`` of ``qv.yaml``: the field paths that differ between environments by design.

``qv diff A B`` between two environments leaves them out (unless ``--all``) and ``qv promote``
never copies them. A path covers everything under it; ``*`` stands for any one key or list
item (``spec.venues.*.host``). The setting is a list (every kind) or a mapping by kind, whose
``'*'`` entry applies to every kind (SPEC §1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qv_config.yamlio.types import FieldPath

if TYPE_CHECKING:
    from qv_config.models import Project

Pattern = FieldPath  # of strings only; "*" for any one key or list item


class Cover:
    """Whether a path is covered by ``patterns``, remembered by path: a diff of thousands of
    documents of a kind asks about the same few paths again and again."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = tuple(patterns)
        self._memo: dict[FieldPath, bool] = {}

    def __call__(self, path: FieldPath) -> bool:
        hit = self._memo.get(path)
        if hit is None:
            hit = self._memo[path] = covered(path, self.patterns)
        return hit

    def __bool__(self) -> bool:
        return bool(self.patterns)


@dataclass(frozen=True)
class EnvSpecific:
    """The patterns of every kind (``common``) and of each kind (``by_kind``)."""

    common: tuple[Pattern, ...] = ()
    by_kind: Mapping[str, tuple[Pattern, ...]] = field(default_factory=dict)
    _covers: dict[str, Cover] = field(default_factory=dict, compare=False, repr=False)

    def for_kind(self, kind: str) -> tuple[Pattern, ...]:
        return (*self.common, *self.by_kind.get(kind, ()))

    def cover(self, kind: str) -> Cover:
        """``covers`` for one kind, remembered (one per kind for the whole run)."""
        found = self._covers.get(kind)
        if found is None:
            found = self._covers[kind] = Cover(self.for_kind(kind))
        return found

    def covers(self, kind: str, path: FieldPath) -> bool:
        return covered(path, self.for_kind(kind))

    @property
    def empty(self) -> bool:
        return not self.common and not any(self.by_kind.values())


NOTHING = EnvSpecific()


def from_project(project: Project | None) -> EnvSpecific:
    """The ``env_specific`` of a validated ``qv.yaml`` (nothing when it is missing)."""
    return NOTHING if project is None else from_setting(project.spec.env_specific)


def from_setting(setting: Sequence[str] | Mapping[Any, Sequence[str]]) -> EnvSpecific:
    """``env_specific`` as qv.yaml gives it (a list, or a mapping by kind), once validated."""
    if not isinstance(setting, Mapping):
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

"""A commit's files with a promotion's edits on top, in memory: what TARGET would render from,
validated before anything is written to the repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from qv_config.repo.source import content_hash

if TYPE_CHECKING:
    from qv_config.repo.files import Refused
    from qv_config.repo.git import GitSource


@dataclass
class EditedSource:
    """A ``Source`` (repo.source): ``base``'s files, with ``texts`` written over them (None:
    the file removed). An edited file is listed under a content id of its own, so that no memo
    of the commit's blob of that path can answer for it."""

    base: GitSource
    texts: Mapping[str, str | None]
    root: Path = field(init=False)
    label: str = field(init=False)
    revision: str | None = field(init=False)
    problems: dict[str, Refused] = field(init=False)

    def __post_init__(self) -> None:
        self.root, self.revision = self.base.root, self.base.revision
        self.label = f"{self.base.label} with the promotion's edits"
        self.problems = self.base.problems

    def list_files(self, bases: list[str]) -> dict[str, str]:
        listed = self.base.list_files(bases)
        for path, text in self.texts.items():
            if text is None:
                listed.pop(path, None)
            else:
                listed[path] = "edit:" + content_hash(text.encode())
        return listed

    def read(self, path: str) -> bytes | None:
        if path in self.texts:
            text = self.texts[path]
            return None if text is None else text.encode()
        return self.base.read(path)

    def read_many(self, paths: Sequence[str], apart: bool = False) -> dict[str, bytes]:
        mine = {p: t.encode() for p in paths if p in self.texts if (t := self.texts[p]) is not None}
        rest = [p for p in paths if p not in self.texts]
        return {**self.base.read_many(rest, apart=apart), **mine}

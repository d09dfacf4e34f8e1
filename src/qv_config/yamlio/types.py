"""Data types of the YAML layer, shared by every package that reads documents."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qv_config.errors import CheckFailed

FieldPath = tuple[str | int, ...]
"""A path into a document: mapping keys are ``str``, sequence indexes ``int``."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column in a source file."""

    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile input cheap (SPEC §4)."""

    max_file_bytes: int = 1 << 20  # 1 MiB: real config files are a few KiB
    max_alias_nodes: int = 1000  # total nodes produced by alias expansion in one file


class ReplaceDict(dict[str, Any]):
    """A mapping tagged ``!replace``: a later layer replaces instead of merging (SPEC §3)."""


class ReplaceList(list[Any]):
    """A sequence tagged ``!replace``: replaces whole, even a name-keyed list."""


class Plaintext(str):
    """A secret's decrypted text (``secrets.decrypt_snapshot`` makes it): data, byte for byte.

    Rendering never templates it (SPEC §8: a password may hold ``{{``) and no finding quotes it.
    A ``str`` subclass, so everything that writes values (orjson, ``dump_plain``, the stores)
    writes it as the text it is, while the render's ``type(value) is str`` tests pass it by.
    """

    __slots__ = ()


class YamlError(CheckFailed):
    """A file that is not acceptable YAML for qv; carries a stable QV1xx code and a position."""

    def __init__(self, code: str, path: str, mark: Mark | None, message: str) -> None:
        where = f"{path}:{mark.line}:{mark.col}" if mark else path
        super().__init__(f"{where}: {code} {message}")
        self.code = code
        self.path = path
        self.mark = mark
        self.detail = message


@dataclass(eq=False)
class LoadedDoc:
    """One loaded file: its value, its text, and positions computed on first use.

    ``data`` is plain ``dict``/``list``/scalars (plus ``ReplaceDict``/``ReplaceList``). Positions
    are computed lazily by ``locate`` (a slower, position-tracking parse of ``text``) because the
    fast read path does not track them and most runs never need one.
    """

    path: str  # repository-relative POSIX path (or a label such as "<stdin>")
    data: Any
    text: str
    digest: str  # content hash of the raw bytes (hex)
    locate: Callable[[], dict[FieldPath, Mark]] = field(repr=False, default=lambda: {})
    _positions: dict[FieldPath, Mark] | None = field(default=None, repr=False)

    def positions(self) -> dict[FieldPath, Mark]:
        if self._positions is None:
            self._positions = self.locate()
        return self._positions

    def position(self, path: FieldPath) -> Mark | None:
        """Position of the value at ``path``; falls back to the nearest enclosing value."""
        table = self.positions()
        probe = path
        while probe:
            mark = table.get(probe)
            if mark is not None:
                return mark
            probe = probe[:-1]
        return table.get((), Mark(1, 1))

    def key_position(self, path: FieldPath) -> Mark | None:
        """Position of the *key* of ``path`` (for 'unknown field' findings)."""
        return self.positions().get(("__key__", *path)) or self.position(path)

"""Strict YAML loading with positions (read path) and round-trip writing (write path).

Public API (other packages import only these names):

- ``load_bytes(path, data, *, limits=Limits()) -> LoadedDoc`` — strict YAML 1.2 core load of one
  file; raises ``YamlError`` (code, path, line, col) on any violation of SPEC §4.
- ``LoadedDoc`` — the value plus lazy ``position(field_path) -> Mark | None``.
- ``ReplaceDict`` / ``ReplaceList`` — values carrying the ``!replace`` tag.
- ``load_text(path, text, *, limits=Limits())`` — the same for text already in memory.
- ``Mark``, ``Limits``, ``YamlError``.
"""

from qv_config.yamlio.loader import load_bytes, load_text
from qv_config.yamlio.types import Limits, LoadedDoc, Mark, ReplaceDict, ReplaceList, YamlError

__all__ = [
    "Limits",
    "LoadedDoc",
    "Mark",
    "ReplaceDict",
    "ReplaceList",
    "YamlError",
    "load_bytes",
    "load_text",
]

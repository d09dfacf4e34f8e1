"""Secret fields of served documents, masked unless a token may read them.

The runtime store holds documents with their secrets decrypted (services need them), so the
server masks every field a schema marks ``x-qv-secret``: the built-in kinds' marks, and for a
Config its service schema (``metadata.schema``, else ``schemas/configs/<name>.schema.json``)
read from the project's work tree when the server starts, and every leaf the work tree's
encrypted files hold as sops ciphertext (a key ``.sops.yaml``'s ``encrypted_regex`` selects is a
secret whether or not a schema marks it). A masked value becomes ``MASK``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

MASK = "<secret: masked>"
Pattern = tuple[str, ...]


class SecretMarks:
    """Which paths of a document are secret (patterns; ``*`` is any key or index): the schema's
    marks and, with ``env``, the leaves the work tree holds encrypted for it (``secrets.paths``)."""

    def __init__(self, root: Path | None, env: str | None = None) -> None:
        self.root, self.env = root, env
        self._configs: dict[str, frozenset[Pattern]] = {}
        self._leaves: dict[tuple[str, str], frozenset[Pattern]] | None = None

    def patterns(self, doc: Mapping[str, Any]) -> frozenset[Pattern]:
        kind = doc.get("kind")
        meta = doc.get("metadata") or {}
        if kind == "Config":
            marked = self._config(str(meta.get("name", "")), meta.get("schema"))
        else:
            marked = _kind_patterns(str(kind))
        leaves = self._encrypted().get((str(kind), str(meta.get("name"))))
        return marked | leaves if leaves else marked

    def _encrypted(self) -> dict[tuple[str, str], frozenset[Pattern]]:
        """Read once, on the first masked body: the work tree's encrypted files of ``env``."""
        if self._leaves is None:
            self._leaves = {}
            if self.root is not None and self.env is not None:
                from qv_config.repo import load_snapshot
                from qv_config.repo.source import WorkTreeSource
                from qv_config.secrets.paths import encrypted_leaves

                snapshot = load_snapshot(WorkTreeSource(self.root), envs=[self.env])
                self._leaves = encrypted_leaves(snapshot, [self.env])
        return self._leaves

    def _config(self, name: str, explicit: Any) -> frozenset[Pattern]:
        key = f"{name}\0{explicit}"
        if key not in self._configs:
            self._configs[key] = self._read_config(name, explicit)
        return self._configs[key]

    def _read_config(self, name: str, explicit: Any) -> frozenset[Pattern]:
        from qv_config.models.marks import marks_for_config_schema
        from qv_config.repo.source import WorkTreeSource

        if self.root is None:
            return frozenset()
        path = explicit if isinstance(explicit, str) else f"schemas/configs/{name}.schema.json"
        raw = WorkTreeSource(self.root).read(path.removeprefix("./"))
        if raw is None:
            return frozenset()
        try:
            schema = json.loads(raw)
        except ValueError:
            return frozenset({("spec",)})  # unreadable schema: hide the whole spec (fail closed)
        return marks_for_config_schema(schema).secret


@cache
def _kind_patterns(kind: str) -> frozenset[Pattern]:
    from qv_config.models import KINDS, marks_for_kind

    return marks_for_kind(kind).secret if kind in KINDS else frozenset()


def mask(doc: Any, patterns: frozenset[Pattern]) -> tuple[Any, bool]:
    """``doc`` with every value at a path of ``patterns`` replaced by MASK (a new object;
    ``doc`` is not changed), and whether anything was masked."""
    if not patterns:
        return doc, False
    return _mask(doc, [p for p in patterns if p])


def _mask(node: Any, patterns: list[Pattern]) -> tuple[Any, bool]:
    if isinstance(node, Mapping):
        items: Any = node.items()
    elif isinstance(node, list | tuple):
        items = enumerate(node)
    else:
        return node, False
    out: dict[Any, Any] = {}
    hit = False
    for key, value in items:
        here = [p for p in patterns if p[0] in ("*", str(key))]
        if any(len(p) == 1 for p in here):
            out[key], hit = MASK, True
            continue
        out[key], sub = _mask(value, [p[1:] for p in here]) if here else (value, False)
        hit = hit or sub
    return (list(out.values()) if not isinstance(node, Mapping) else out), hit

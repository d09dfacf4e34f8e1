"""Which files a diff must render, and a ``Source`` that holds only those files.

Between two states of one environment, a document's effective value depends on its own files
(base and overlay, or the environment's document), the templates, ``qv.yaml`` and the
environment's ``environment.yaml`` (the templating context). When only documents' own files
changed, rendering just those documents on both sides gives the whole difference: every other
document is equal by construction. That turns a diff of 10,000 documents with 100 edits into a
render of 100.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_YAML = (".yaml", ".yml")
ENV_FILES = ("environment.yaml", "environment.yml")


def render_set(changed: Iterable[str], env: str, bases: Sequence[str]) -> set[str] | None:
    """Files whose documents must be rendered on both sides, or None when a change (qv.yaml, a
    template, the environment file) can affect every document of ``env``."""
    prefix = f"environments/{env}/"
    base_prefixes = tuple(f"{b}/" for b in bases)
    keep: set[str] = set()
    for path in changed:
        if path == "qv.yaml" or (path.startswith("templates/") and path.endswith(_YAML)):
            return None
        if not path.endswith(_YAML):
            continue  # schemas change marks and validity, never a rendered value
        if path.startswith(prefix):
            rel = path[len(prefix) :]
            if rel in ENV_FILES:
                return None
            keep.add(path)
            if rel.startswith(base_prefixes):
                keep.add(rel)  # an overlay renders with its base
        elif path.startswith(base_prefixes):
            keep |= {path, prefix + path}
    return keep


def context_paths(env: str) -> list[str]:
    """What every document of ``env`` renders with, besides its own files."""
    return ["qv.yaml", "templates", *(f"environments/{env}/{name}" for name in ENV_FILES)]


@dataclass
class PartialSource:
    """A ``Source`` (repo.source) listing only ``files``; other files (schemas) still readable."""

    root: Path
    label: str
    revision: str | None
    files: dict[str, str]  # path -> content id (blob id for Git, "" for the work tree)
    read_blob: Callable[[str], bytes | None] | None  # blob id -> bytes (Git only)
    read_other: Callable[[str], bytes | None] = field(repr=False)

    def list_files(self, bases: list[str]) -> dict[str, str]:
        return dict(self.files)

    def read(self, path: str) -> bytes | None:
        blob = self.files.get(path)
        if blob and self.read_blob is not None:
            return self.read_blob(blob)
        return self.read_other(path)


def worktree_files(root: Path, paths: Iterable[str]) -> dict[str, str]:
    """The files among ``paths`` (files or folders) present in the work tree."""
    out: dict[str, str] = {}
    for rel in paths:
        full = os.path.join(root, rel)
        if os.path.isfile(full):
            out[rel] = ""
        elif os.path.isdir(full):
            _walk(full, rel, out)
    return out


def _walk(folder: str, rel: str, out: dict[str, str]) -> None:
    for entry in os.scandir(folder):
        if entry.name.startswith("."):
            continue
        child = f"{rel}/{entry.name}"
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, child, out)
        elif entry.is_file(follow_symlinks=False):
            out[child] = ""

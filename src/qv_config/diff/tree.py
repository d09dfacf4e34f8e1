"""Which files a diff must render, and a ``Source`` that holds only those files.

Between two states of one environment, a document's effective value depends on its own files
(base and overlay, or the environment's document), the templates, ``qv.yaml`` and the
environment's ``environment.yaml`` (the templating context). When only documents' own files
changed, rendering just those documents on both sides gives the whole difference: every other
document is equal by construction. That turns a diff of 10,000 documents with 100 edits into a
render of 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qv_config.repo.files import Refused
    from qv_config.repo.git import GitSource
    from qv_config.repo.source import Source, WorkTreeSource
    from qv_config.repo.types import Snapshot

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
    """A ``Source`` (repo.source) listing only ``files`` of ``source``; every other file (the
    schemas) is still read through it, by the same rule."""

    source: Source
    files: dict[str, str]  # path -> content id (blob id for Git, "" for the work tree)
    problems: dict[str, Refused]  # what the rule refused among those paths
    root: Path = field(init=False)
    label: str = field(init=False)
    revision: str | None = field(init=False)

    def __post_init__(self) -> None:
        self.root, self.label = self.source.root, self.source.label
        self.revision = self.source.revision

    def list_files(self, bases: list[str]) -> dict[str, str]:
        return dict(self.files)

    def read(self, path: str) -> bytes | None:
        return self.source.read(path)


def load_partial(source: GitSource | WorkTreeSource, wanted: list[str]) -> Snapshot:
    """The files at or under ``wanted`` of ``source`` (and what the rule refused among them),
    loaded as a snapshot of their own."""
    from qv_config.repo import load_snapshot

    files = source.list_paths(wanted)
    problems = {p: r for p, r in source.problems.items() if any(_related(p, w) for w in wanted)}
    # Few files, each parsed fast: the shared parse cache would cost more to load than it saves.
    return load_snapshot(PartialSource(source, files, problems), use_cache=False)


def _related(path: str, wanted: str) -> bool:
    """``path`` is ``wanted``, under it, or a folder above it."""
    return path == wanted or path.startswith(f"{wanted}/") or wanted.startswith(f"{path}/")

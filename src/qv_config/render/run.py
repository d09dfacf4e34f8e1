"""What one render of an environment shares: the merged document before templating, and the
run's findings and limits (``render.engine`` drives it; ``render.envelope`` checks documents)."""

from __future__ import annotations

from typing import Any, NamedTuple

from qv_config.findings import Finding, dotted
from qv_config.render.bounds import RenderLimits
from qv_config.render.inherit import TemplateCache, cache_for
from qv_config.render.provenance import locate
from qv_config.render.sealing import SecretFields
from qv_config.render.templating import Trie
from qv_config.render.types import Layer, Location
from qv_config.repo.types import Snapshot
from qv_config.yamlio import LoadedDoc
from qv_config.yamlio.types import FieldPath


class Merged(NamedTuple):
    """A document after inheritance and merge, before templating. (A tuple: one is made per
    document rendered, and a frozen dataclass's ``__init__`` costs ~4x as much.)"""

    layers: tuple[Layer, ...]
    data: dict[str, Any]
    kind: str
    name: str
    trie: Trie | None  # where templating must look (union of the layers' tries)

    def locate(self, path: FieldPath) -> Location:
        return locate(self.layers, self.data, path)


class RenderRun:
    """State of one render_environment call."""

    def __init__(self, snapshot: Snapshot, env: str) -> None:
        self.snapshot = snapshot
        self.env = env
        self.cache: TemplateCache = cache_for(snapshot)
        self.secrets = SecretFields(snapshot.encrypted)
        self.findings: list[Finding] = []
        info = snapshot.project_info
        self.limits = RenderLimits.of(info.limits if info is not None else None)

    def add(
        self,
        code: str,
        message: str,
        where: Location,
        field: FieldPath = (),
        kind: str | None = None,
        name: str | None = None,
    ) -> None:
        mark = where.mark
        self.findings.append(
            Finding(
                code,
                message,
                where.file,
                mark.line if mark else 0,
                mark.col if mark else 0,
                env=self.env,
                kind=kind,
                name=name,
                field=dotted(field),
            )
        )

    def at(self, doc: LoadedDoc, path: FieldPath) -> Location:
        return Location(doc.path, doc.position(path))


def meta(data: Any) -> dict[str, Any]:
    meta = data.get("metadata") if isinstance(data, dict) else None
    return meta if isinstance(meta, dict) else {}


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def get(data: Any, path: FieldPath) -> Any:
    for step in path:
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data

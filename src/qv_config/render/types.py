"""Results of rendering, shared with validate/, diff/ and the stores."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from qv_config.findings import Finding
from qv_config.yamlio import LoadedDoc, Mark
from qv_config.yamlio.types import FieldPath

LayerRole = Literal["template", "base", "document", "overlay"]

KIND_SLUGS: dict[str, str] = {
    "Config": "config",
    "Flag": "flag",
    "Strategy": "strategy",
    "RiskPolicy": "risk-policy",
    "ExecutionPolicy": "execution-policy",
    "Environment": "environment",
}


@dataclass(frozen=True)
class Layer:
    """One input of a rendered document, in application order."""

    role: LayerRole
    label: str  # template name ("strategy/base") or repo path
    doc: LoadedDoc

    @classmethod
    def made(cls, role: LayerRole, label: str, doc: LoadedDoc) -> Layer:
        """``Layer(role, label, doc)`` without the frozen ``__init__``'s ``object.__setattr__``
        for each field (the renderer makes one or two per document): the same attributes."""
        layer = object.__new__(cls)
        fields = layer.__dict__
        fields["role"], fields["label"], fields["doc"] = role, label, doc
        return layer


@dataclass(frozen=True)
class Location:
    file: str
    mark: Mark | None


@dataclass(frozen=True)
class RenderedDoc:
    """The effective document of one (environment, kind, name)."""

    env: str
    kind: str
    name: str
    data: Mapping[str, Any]  # the rendered document without ``extends``
    layers: tuple[Layer, ...]
    locate: Callable[[FieldPath], Location] = field(repr=False, compare=False)
    """File and position of the layer that set the value at a field path (last one wins)."""
    json: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """The canonical JSON of ``data``, as rendering made it to check that the desired state can
    hold it (``render.desired.canonical`` reuses it); set by the renderer only, and never carried
    by ``dataclasses.replace`` to other data (not an init field)."""

    key: str = field(init=False, repr=False, compare=False)
    """``{env}/{kind-slug}/{name}``."""
    source: str = field(init=False, repr=False, compare=False)
    """Repo path of the main document (base or environment document)."""

    def __post_init__(self) -> None:
        # Set once (checking a document reads both several times), from the frozen fields.
        object.__setattr__(self, "key", _key(self.env, self.kind, self.name))
        object.__setattr__(self, "source", _main_path(self.layers))

    @classmethod
    def made(
        cls,
        env: str,
        kind: str,
        name: str,
        data: Mapping[str, Any],
        layers: tuple[Layer, ...],
        locate: Callable[[FieldPath], Location],
        json: bytes,
    ) -> RenderedDoc:
        """``RenderedDoc(env, kind, name, data, layers, locate)`` with its ``json``, in one step
        (the renderer makes one per document: the frozen ``__init__`` sets each of the nine
        attributes through ``object.__setattr__``, ~3x the cost). The same attributes, in the
        same order."""
        doc = object.__new__(cls)
        key, source = _key(env, kind, name), _main_path(layers)
        doc.__dict__.update(
            env=env, kind=kind, name=name, data=data, layers=layers, locate=locate, key=key,
            source=source, json=json,
        )  # fmt: skip
        return doc

    @property
    def spec(self) -> Mapping[str, Any]:
        value = self.data.get("spec")
        return value if isinstance(value, Mapping) else {}


def _key(env: str, kind: str, name: str) -> str:
    return f"{env}/{KIND_SLUGS.get(kind, kind.lower())}/{name}"


def _main_path(layers: tuple[Layer, ...]) -> str:
    for layer in layers:
        if layer.role in ("base", "document"):
            return layer.doc.path
    return layers[-1].doc.path if layers else ""


@dataclass(frozen=True)
class RenderedEnv:
    """Every effective document of one environment, plus the problems met while rendering."""

    env: str
    docs: Mapping[str, RenderedDoc]  # key -> doc, sorted by key
    findings: tuple[Finding, ...]

    @property
    def environment(self) -> RenderedDoc | None:
        return self.docs.get(f"{self.env}/environment/{self.env}")

    def of_kind(self, kind: str) -> dict[str, RenderedDoc]:
        """name -> doc for one kind."""
        return {d.name: d for d in self.docs.values() if d.kind == kind}

"""``qv.yaml`` as a load needs it: its info from the parse memo when this qv validated the same
bytes before, else from its model. Building the model imports pydantic and qv's models (~0.1 s):
when the file's raw value already says what loading needs (the bases folders and the YAML
limits), a cold load starts its parse workers on that and validates meanwhile; should the model
decide otherwise (an invalid ``qv.yaml``), the load starts again on what it decided
(``repo.snapshot``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qv_config.findings import Finding
from qv_config.repo.types import ProjectInfo
from qv_config.yamlio import Limits, LoadedDoc

if TYPE_CHECKING:
    from qv_config.cache.parse import ParseMemo

DEFAULT_BASES = ("strategies",)
_YAML_LIMITS = ("max_file_bytes", "max_alias_nodes")

Loading = tuple[tuple[str, ...], Limits]  # what a load lists and parses by


@dataclass
class Manifest:
    """qv.yaml's document and, once ``settled``, its info and model (None: missing/invalid)."""

    doc: LoadedDoc | None
    info: ProjectInfo | None = None
    model: Any = None  # built by this run (else None: the info came from the memo)
    guess: Loading | None = None  # from the raw value, until the model is asked

    @property
    def settled(self) -> bool:
        return self.guess is None

    def loading(self) -> Loading:
        """The bases and YAML limits a load uses: decided, or guessed while not settled."""
        if self.guess is not None:
            return self.guess
        bases = self.info.bases if self.info is not None else DEFAULT_BASES
        return bases, yaml_limits(self.info)

    def settle(self, findings: list[Finding], memo: ParseMemo) -> None:
        """Validate with the model (once): the info, or QV205 in ``findings``."""
        if self.guess is not None:
            self.guess = None
            self.fill(findings, memo)

    def fill(self, findings: list[Finding], memo: ParseMemo) -> None:
        """The info and model of ``doc`` as the model says (QV205 in ``findings``), kept in the
        parse memo under the file's digest."""
        assert self.doc is not None
        self.model = _validate(self.doc, findings)
        if self.model is None:
            return
        spec = self.model.spec
        limits = {k: v for k, v in spec.limits.model_dump().items() if v is not None}
        self.info = ProjectInfo(tuple(spec.environments), tuple(spec.bases), limits)
        memo.put_fact(_memo_key(self.doc), [list(spec.environments), list(spec.bases), limits])


def read_manifest(doc: LoadedDoc | None, findings: list[Finding], memo: ParseMemo) -> Manifest:
    """The manifest of ``doc`` (qv.yaml as loaded): settled at once when the memo knows these
    bytes or the raw value is unusual; else settled later (``Manifest.settle``)."""
    if doc is None:
        return Manifest(None)
    # Keyed by content digest in the parse memo, whose records are bound to qv's code: these
    # exact bytes were validated by this qv before (qv.yaml always loads under the default YAML
    # limits, so whatever limits the memo is at now).
    known = memo.fact(_memo_key(doc))
    if type(known) is list and len(known) == 3:
        return Manifest(doc, ProjectInfo(tuple(known[0]), tuple(known[1]), dict(known[2])))
    manifest = Manifest(doc, guess=_guess(doc.data))
    if manifest.guess is None:  # nothing plain to go by: the model is asked now
        manifest.fill(findings, memo)
    return manifest


def yaml_limits(project: ProjectInfo | None) -> Limits:
    """The bounds of loading (rendering has its own: render.bounds)."""
    given = project.limits if project else {}
    return Limits(**{name: int(given[name]) for name in _YAML_LIMITS if name in given})


def _memo_key(doc: LoadedDoc) -> str:
    return f"project-info:{doc.digest}"


def raw_bases(data: Any) -> tuple[str, ...] | None:
    """The bases folders a valid qv.yaml of this raw value names; None when the value is not
    plainly of that shape."""
    spec = data.get("spec") if type(data) is dict else None
    bases = spec.get("bases", list(DEFAULT_BASES)) if type(spec) is dict else None
    if type(bases) is not list or any(type(b) is not str for b in bases):
        return None
    return tuple(bases)


def bases_of(raw: bytes | None) -> tuple[str, ...]:
    """The bases folders the qv.yaml bytes ``raw`` name, read without the model; the default
    when it is missing or not plainly valid (rendering then reports why)."""
    from qv_config.yamlio import YamlError, load_bytes

    try:
        data = load_bytes("qv.yaml", raw).data if raw is not None else None
    except YamlError:
        data = None
    bases = raw_bases(data)
    return bases if bases is not None else DEFAULT_BASES


def _guess(data: Any) -> Loading | None:
    """The bases and YAML limits a valid qv.yaml of this raw value has; None when the value
    is not plainly of that shape (the model is asked first then)."""
    bases = raw_bases(data)
    if bases is None:
        return None
    limits = data["spec"].get("limits", {})
    if type(limits) is not dict:
        return None
    given = {name: limits[name] for name in _YAML_LIMITS if limits.get(name) is not None}
    if any(type(value) is not int for value in given.values()):
        return None
    return bases, Limits(**given)


def _validate(doc: LoadedDoc, findings: list[Finding]) -> Any:
    from pydantic import ValidationError

    from qv_config.models import Project

    try:
        return Project.model_validate(doc.data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(p) for p in loc)
        message = f"qv.yaml is invalid at {where}: {first['msg']}"
        # At the field (an unknown one: at its key), not at the top of the file.
        at = doc.key_position(loc) if first["type"] == "extra_forbidden" else doc.position(loc)
        line, col = (at.line, at.col) if at is not None else (1, 1)
        findings.append(Finding("QV205", message, "qv.yaml", line, col))
        return None

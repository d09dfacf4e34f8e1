"""The checks a document passes before it is templated or kept: names of name-keyed lists,
inheritance errors, overlays, the envelope (apiVersion, kind, metadata.name) and, after
templating, whether the desired state can hold it."""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Any

from qv_config.findings import dotted
from qv_config.names import NAME
from qv_config.render.canonical import NotDeployable, canonical_json, largest
from qv_config.render.inherit import InheritError
from qv_config.render.run import Merged, RenderRun, get, meta, text
from qv_config.render.types import KIND_SLUGS, Location
from qv_config.yamlio import LoadedDoc
from qv_config.yamlio.types import FieldPath

API_VERSION = "qv/v1"


def names_ok(run: RenderRun, docs: list[LoadedDoc], main: LoadedDoc) -> bool:
    """No layer repeats a name in a name-keyed list (QV221) or has one that is not text (QV222):
    merging by name would hide an item, in the result and from ``qv diff``."""
    found = [(doc, problem) for doc in docs for problem in run.cache.name_problems(doc)]
    if not found:
        return True
    kind = next((k for d in reversed(docs) if isinstance(k := get(d.data, ("kind",)), str)), None)
    name = get(main.data, ("metadata", "name"))
    for doc, (path, code, message) in found:
        run.add(
            code, message, run.at(doc, path), path, kind, name if isinstance(name, str) else None
        )
    return False


def inherit_finding(run: RenderRun, err: InheritError, main: LoadedDoc) -> None:
    data = main.data
    kind = data.get("kind") if isinstance(data.get("kind"), str) else None
    name = meta(data).get("name")
    run.add(
        err.code,
        err.message,
        run.at(err.file, err.path),
        err.path,
        kind,
        name if isinstance(name, str) else None,
    )


def overlay_ok(run: RenderRun, overlay: LoadedDoc, base: dict[str, Any]) -> bool:
    data = overlay.data
    kind, name = text(base.get("kind")), text(meta(base).get("name"))
    if not isinstance(data, dict):
        run.add("QV108", "an overlay must be a mapping", run.at(overlay, ()), (), kind, name)
        return False
    if "extends" in data:
        run.add(
            "QV212",
            "an overlay may not use extends: put extends in the base document "
            f"{_base_path(overlay.path)}",
            run.at(overlay, ("extends",)),
            ("extends",),
            kind,
            name,
        )
        return False
    for path in (("apiVersion",), ("kind",), ("metadata", "name")):
        mine, theirs = get(data, path), get(base, path)
        if mine is not None and mine != theirs:
            run.add(
                "QV213",
                f"overlay {dotted(path)} is {mine!r} but its base has {theirs!r}; "
                "an overlay must describe the same document",
                run.at(overlay, path),
                path,
                kind,
                name,
            )
            return False
    return True


def _base_path(overlay_path: str) -> str:
    parts = overlay_path.split("/", 2)
    return parts[2] if len(parts) == 3 else overlay_path


# The top-level keys of every kind (models.common.Document plus kind and spec).
ENVELOPE = ("apiVersion", "kind", "metadata", "extends", "spec")


def _misspelt(run: RenderRun, item: Merged, parent: FieldPath, wanted: str) -> bool:
    """Where ``wanted`` is missing, a key beside it that is close to it is a misspelling: it
    is reported as the unknown field it is (QV301), at its own line with the closest valid
    name, rather than ``wanted`` as missing at a line that has nothing to do with it."""
    container = get(item.data, parent) if parent else item.data
    if not isinstance(container, dict):
        return False
    known = item.kind in KIND_SLUGS
    if parent:
        from qv_config.models.checking import field_names

        valid: Collection[str] = field_names(item.kind, parent) if known else ("name",)
    else:
        valid = ENVELOPE
    strays = [key for key in container if isinstance(key, str) and key not in valid]
    close = difflib.get_close_matches(wanted, strays, n=1, cutoff=0.6)
    if not close:
        return False
    path = (*parent, close[0])
    message = f"unknown field '{close[0]}' (did you mean '{wanted}'?)"
    if known and parent:
        from qv_config.models.checking import unknown_field_message

        message = unknown_field_message(item.kind, path)
    run.add("QV301", message, _key_location(item, path), path, item.kind or None, item.name or None)
    return True


def _key_location(item: Merged, path: FieldPath) -> Location:
    """The line and column of the key at ``path`` in the layer that set it (a person edits the
    key, not its value)."""
    where = item.locate(path)
    layer = next((lay for lay in reversed(item.layers) if lay.doc.path == where.file), None)
    mark = layer.doc.key_position(path) if layer is not None else None
    return Location(where.file, mark or where.mark)


def envelope_ok(run: RenderRun, item: Merged) -> bool:
    data, kind, name = item.data, item.kind or None, item.name or None
    for wanted in ("apiVersion", "kind", "metadata"):
        if wanted not in data and _misspelt(run, item, (), wanted):
            return False
    if data.get("apiVersion") != API_VERSION:
        found = data.get("apiVersion")
        what = f"is {found!r}" if found is not None else "is missing"
        run.add(
            "QV201",
            f"apiVersion {what}: it must be {API_VERSION}",
            item.locate(("apiVersion",)),
            ("apiVersion",),
            kind,
            name,
        )
        return False
    if item.kind not in KIND_SLUGS:
        close = difflib.get_close_matches(item.kind, list(KIND_SLUGS), n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(KIND_SLUGS)})"
        run.add(
            "QV202",
            f"unknown kind {data.get('kind')!r}{hint}",
            item.locate(("kind",)),
            ("kind",),
            kind,
            name,
        )
        return False
    if not NAME.fullmatch(item.name):
        found = meta(data).get("name")
        if found is None and any(
            _misspelt(run, item, parent, wanted)
            for parent, wanted in (((), "metadata"), (("metadata",), "name"))
        ):
            return False
        what = "is missing" if found is None else f"{found!r} is invalid"
        run.add(
            "QV203",
            f"metadata.name {what}: use lower-case letters, digits, '.' and '-' (at most 63)",
            item.locate(("metadata", "name")),
            ("metadata", "name"),
            item.kind,
            item.name or None,
        )
        return False
    return True


def deployable(run: RenderRun, item: Merged, data: dict[str, Any]) -> bytes | None:
    """``data``'s canonical JSON if the desired state can hold it (None: it cannot): checked with
    the encoder it is written with, so that what renders (and validates) also syncs (QV408)."""
    try:
        blob = canonical_json(data)
    except NotDeployable as err:
        run.add("QV408", err.message, item.locate(err.path), err.path, item.kind, item.name)
        return None
    size = len(blob)
    if size > run.limits.max_bytes:
        path = largest(data)
        message = (
            f"the rendered document is {size:,} bytes, above {run.limits.max_bytes:,} "
            "(qv.yaml spec.limits.max_render_bytes); the largest part is here"
        )
        run.add("QV234", message, item.locate(path), path, item.kind, item.name)
        return None
    return blob

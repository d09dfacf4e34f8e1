"""Desired state and its digest (SPEC §3, docs/format.md), reused by sync, drift and approvals.

Canonical JSON: UTF-8, sorted keys, no insignificant whitespace (orjson, OPT_SORT_KEYS). The
rendered data already has no ``extends``, and rendering has rejected non-finite floats and
non-string keys (QV303), which canonical JSON cannot represent faithfully.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from qv_config.errors import CheckFailed
from qv_config.render.types import RenderedDoc, RenderedEnv


def desired_state(rendered: RenderedEnv) -> dict[str, bytes]:
    """Desired-state key ``{env}/{kind-slug}/{name}`` -> canonical JSON of the document."""
    return {key: canonical(doc) for key, doc in rendered.docs.items()}


def canonical(doc: RenderedDoc, indent: bool = False) -> bytes:
    """The canonical JSON of one rendered document (``indent``: indented by 2, for people)."""
    import orjson

    option = orjson.OPT_SORT_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return orjson.dumps(doc.data, option=option)
    except TypeError as err:
        raise CheckFailed(
            f"{doc.source}: {doc.key} cannot be written as canonical JSON: {err}",
            hint="use only strings, numbers, booleans, lists and mappings with string keys",
        ) from None


def digest(desired: Mapping[str, bytes]) -> str:
    """sha256 over the sorted ``key<TAB>sha256hex(value)<LF>`` lines (docs/format.md)."""
    lines = "".join(
        f"{key}\t{hashlib.sha256(desired[key]).hexdigest()}\n" for key in sorted(desired)
    )
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()

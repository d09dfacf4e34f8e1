"""Service schema files as runs know them: by the digest of their bytes.

Apart from ``validate.schema`` (which compiles schemas and imports the secret rules): a warm
``qv validate`` that finds its result kept checks the schema files it read by digest only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def schema_digest(raw: bytes) -> str:
    """The content digest a service schema is known by (caches key results by it)."""
    return hashlib.sha256(raw).hexdigest()


def file_digest(read: Callable[[str], bytes | None], path: str) -> str:
    """The digest of the schema file at ``path`` now ("" when absent)."""
    raw = read(path)
    return schema_digest(raw) if raw is not None else ""


def unchanged(read: Callable[[str], bytes | None], reads: Iterable[tuple[str, str]]) -> bool:
    """The schema files a run read (path, digest; "" when absent) still have those digests."""
    return all(file_digest(read, path) == digest for path, digest in reads)


def named(data: Mapping[str, Any]) -> str:
    """The schema file a rendered Config names by ``metadata.schema`` ("" for other kinds, or
    none named: the default ``schemas/configs/<name>.schema.json``)."""
    metadata = data.get("metadata") if data.get("kind") == "Config" else None
    explicit = metadata.get("schema") if isinstance(metadata, Mapping) else None
    return explicit.removeprefix("./") if isinstance(explicit, str) else ""

"""``load_bytes``: the one entry point that turns a file's bytes into a ``LoadedDoc``.

Order of checks (each cheap check first, so hostile input costs almost nothing):
size (QV106, before decoding) → UTF-8 (QV107) → fast path (yaml_rs) when the prefilter proves it
gives the strict path's value → otherwise, or on any doubt, the strict path (libyaml events and
qv's composer), which is authoritative for every error code and position.
"""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Any, Protocol

from qv_config.yamlio import fast, strict
from qv_config.yamlio.types import FieldPath, Limits, LoadedDoc, Mark, YamlError

_BOM = b"\xef\xbb\xbf"
_DEFAULT_LIMITS = Limits()


class ParseCache(Protocol):
    """Values of files already loaded, by content digest (see ``qv_config.repo.parsecache``)."""

    def get(self, digest: str) -> Any | None: ...

    def put(self, digest: str, value: Any) -> None: ...


def load_bytes(
    path: str,
    data: bytes,
    *,
    limits: Limits = _DEFAULT_LIMITS,
    cache: ParseCache | None = None,
) -> LoadedDoc:
    """Strictly load one YAML file (SPEC §4); raise ``YamlError`` with a QV1xx code on refusal.

    With ``cache``, a file whose exact bytes were loaded before is not parsed again: only files
    that loaded cleanly are cached, so every error is still found and positioned afresh.
    """
    if len(data) > limits.max_file_bytes:
        raise YamlError(
            "QV106",
            path,
            Mark(1, 1),
            f"the file is {len(data)} bytes, over the limit of {limits.max_file_bytes}: "
            "split it, or raise spec.limits.max_file_bytes in qv.yaml",
        )
    digest = hashlib.blake2b(data, digest_size=20).hexdigest()
    body = data[3:] if data.startswith(_BOM) else data
    text = _decode(path, body)
    value = cache.get(digest) if cache is not None else None
    if value is None:
        value = fast.try_load(text)
        if value is fast.MISS:
            value = strict.compose(path, body, limits).value
        # The cache stores builtin types only (marshal): !replace values are never cached.
        if cache is not None and "!replace" not in text:
            cache.put(digest, value)
    return LoadedDoc(
        path=path,
        data=value,
        text=text,
        digest=digest,
        locate=partial(_locate, path, body, limits),
    )


def load_text(path: str, text: str, *, limits: Limits = _DEFAULT_LIMITS) -> LoadedDoc:
    """``load_bytes`` for text already in memory (tests, stdin, the writer's self-check)."""
    return load_bytes(path, text.encode("utf-8"), limits=limits)


def positions_of(path: str, data: bytes, limits: Limits = _DEFAULT_LIMITS) -> dict[FieldPath, Mark]:
    """The positions table of a file (strict path with positions); raises like ``load_bytes``."""
    body = data[3:] if data.startswith(_BOM) else data
    return _locate(path, body, limits)


def _locate(path: str, body: bytes, limits: Limits) -> dict[FieldPath, Mark]:
    composer = strict.compose(path, body, limits, track=True)
    assert composer.positions is not None  # track=True always records
    return composer.positions


def _decode(path: str, body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        start = body.rfind(b"\n", 0, err.start) + 1
        column = len(body[start : err.start].decode("utf-8", errors="replace")) + 1
        line = body.count(b"\n", 0, err.start) + 1
        raise YamlError(
            "QV107",
            path,
            Mark(line, column),
            f"byte 0x{body[err.start]:02X} is not valid UTF-8: save the file as UTF-8",
        ) from None

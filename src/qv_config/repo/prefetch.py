"""Parsing many files on both cores: the cold load of a large work tree.

A cold load of 10,000 files spends most of its second reading, hashing and parsing YAML. Forked
workers read and parse halves of the files (a Git revision's blobs through a ``git cat-file`` of
each worker's own, all asked at once) and send back, per file, its digest and its value as a
marshal blob (decoding marshal costs a fraction of parsing YAML) or its error. Errors are
returned as data, so every problem is still a finding of the parent's load. Only for many
files: below that, forking costs more than it saves. ``QV_JOBS=1`` turns it off.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qv_config.yamlio import Limits, YamlError, load_bytes

_MIN_FILES = 2000
_WORKERS = 2

Parsed = tuple[str, bytes]  # digest, marshal blob of the value
Failed = tuple[str, str, int, int]  # code, message, line, col
_JOB: list[tuple[ReadMany, Limits]] = []  # set just before forking


@dataclass(frozen=True)
class Prefetched:
    """Outcome of one file parsed by a worker: a value (``blob``) or an error."""

    digest: str = ""  # of the file's bytes (with a value or an error)
    blob: bytes = b""
    error: Failed | None = None
    missing: bool = False  # the file went away; neither blob nor error: load it in the parent
    sops: bool = False  # the value has a top-level ``sops`` block (an encrypted file)


def worth_it(paths: Sequence[str]) -> bool:
    if len(paths) < _MIN_FILES or sys.platform == "win32" or os.environ.get("QV_JOBS") == "1":
        return False
    return (os.cpu_count() or 1) >= 2


ReadMany = Callable[[list[str]], Mapping[str, bytes | None]]


def prefetch(paths: Sequence[str], read: ReadMany, limits: Limits) -> dict[str, Prefetched]:
    """Read (``read``: a chunk of paths -> their bytes, called in the worker) and parse
    ``paths`` in forked workers; path -> outcome."""
    import multiprocessing

    chunks = [list(paths[start::_WORKERS]) for start in range(_WORKERS)]
    _JOB.append((read, limits))
    try:
        with multiprocessing.get_context("fork").Pool(processes=_WORKERS) as pool:
            results = pool.map(_parse_chunk, chunks, chunksize=1)
    finally:
        _JOB.clear()
    out: dict[str, Prefetched] = {}
    for chunk, blob in zip(chunks, results, strict=True):
        for path, row in zip(chunk, marshal.loads(blob), strict=True):
            out[path] = _outcome(row)
    return out


def _outcome(row: tuple[Any, ...]) -> Prefetched:
    if row[0] == "ok":
        return Prefetched(row[1], row[2], sops=row[3])
    if row[0] == "error":
        return Prefetched(row[2], error=row[1])
    return Prefetched(missing=row[0] == "missing")


def _parse_chunk(paths: list[str]) -> bytes:
    from qv_config.cache.parse import encode
    from qv_config.repo.source import content_hash

    read, limits = _JOB[-1]
    datas = read(paths)
    rows: list[tuple[Any, ...]] = []
    for path in paths:
        data = datas.get(path)
        if data is None:
            rows.append(("missing",))
            continue
        try:
            doc = load_bytes(path, data, limits=limits)
        except YamlError as err:
            line, col = (err.mark.line, err.mark.col) if err.mark else (0, 0)
            rows.append(("error", (err.code, err.detail, line, col), content_hash(data)))
            continue
        blob = encode(doc.data)
        sops = type(doc.data) is dict and "sops" in doc.data
        rows.append(("ok", doc.digest, blob, sops) if blob is not None else ("retry",))
    return marshal.dumps(rows)

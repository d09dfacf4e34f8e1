"""The files of ``qv validate``'s result cache: a light file every run reads, and one heavy
file per environment read only when that environment is re-validated (see ``validate.cache``).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import sys
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

FindingRow = tuple[str, str, str, int, int, str, str | None, str | None, str | None, str]
# DocFacts as marshal bytes of (key, kind, name, spec): decoded only when the cross-document
# rules run again, so reading an environment's heavy file stays cheap (~1.3 vs ~10 ms for 3,800).
FactsBlob = bytes
# Input key, findings, facts, and the facts' digest (see ``facts_digest``).
Entry = tuple[str, tuple[FindingRow, ...], FactsBlob, str]
# Aggregate key, cross-document findings, and the documents they point at (see incremental).
CrossEntry = tuple[str, tuple[FindingRow, ...], tuple[str, ...]]
# What a document's rendering read besides its template chain: the environment's shared part
# (Environment document, qv.yaml, today), role, main file digest, overlay path and digest.
PreKey = tuple[str, str, str, str, str]
# How one document was rendered, by its main file's path (see ``validate.incremental``):
# pre-render key, document key, kind, name, template chain ((name, digest), ...), input key,
# service schema path ("" for none) and that schema's digest.
DocRecord = tuple[PreKey, str, str, str, tuple[tuple[str, str], ...], str, str, str]
_FORMAT = "qv-validate-cache/12"
LIGHT = "validate.marshal"
HEAVY_NAME = re.compile(r"validate-[A-Za-z0-9_-]{0,40}-[0-9a-f]{32}\.marshal")
# An unnamed heavy file younger than this may belong to a concurrent run about to name it.
_ORPHAN_AGE_S = 60.0
Heavy = tuple[dict[str, Entry], CrossEntry, dict[str, DocRecord]]
Document = tuple[str, str, str]  # (kind, name, main file or "")


@cache
def header() -> tuple[str, ...]:
    # Once per process: it reads and hashes the rule, model and render sources (~3 ms).
    from qv_config import __version__
    from qv_config.validate.registry import rules_code_hash

    return (_FORMAT, __version__, rules_code_hash(), f"{sys.version_info[0]}.{sys.version_info[1]}")


def heavy_name(env: str, blob: bytes) -> str:
    """The file name of ``env``'s heavy blob. sha256, not blake2b: CPUs hash it in hardware
    (~1 ms for 1.8 MB, half blake2b's time). The env part is escaped for the file system; the
    digest, which also covers the env, keeps escaped names apart."""
    digest = hashlib.sha256("\0".join((*header(), env, "")).encode())
    digest.update(blob)
    return f"validate-{re.sub(r'[^A-Za-z0-9_-]', '_', env)[:40]}-{digest.hexdigest()[:32]}.marshal"


def read_heavy(folder: Path, name: str, env: str) -> bytes | None:
    """The blob of heavy file ``name``; None when missing, foreign, damaged or not ``env``'s."""
    from qv_config.repo.statefile import read_state_file

    if not HEAVY_NAME.fullmatch(name):
        return None
    blob = read_state_file(folder / name)
    return blob if blob is not None and heavy_name(env, blob) == name else None


def decode_heavy(blob: bytes | None) -> Heavy:
    empty: Heavy = ({}, ("", (), ()), {})
    try:
        parts = marshal.loads(blob) if blob else empty
    except Exception:  # damaged despite its digest: the environment is re-rendered
        return empty
    return parts if isinstance(parts, tuple) and len(parts) == 3 else empty


class EnvRecord:
    """What one environment left in the cache: its light row and its heavy part.

    The heavy part is either a file of the cache folder (``file``: untouched, never re-encoded),
    an encoded blob (from a worker process, see ``ResultCache.export``) or decoded (this run
    rebuilt it). Decoded only when this environment is re-validated (a warm run skips it).
    """

    def __init__(
        self, env: str, row: tuple[Any, ...] | None = None, folder: Path | None = None
    ) -> None:
        row = row or ("", (), None, (), (), False)
        self.env = env
        self.signature: str = row[0]
        self.schema_reads: tuple[tuple[str, str], ...] = tuple(map(tuple, row[1]))
        self.file: str = row[2] if isinstance(row[2], str) else ""
        self._blob: bytes | None = row[2] if isinstance(row[2], bytes) else None
        self._folder = folder
        self._heavy: Heavy | None = None
        self.file_read = False  # ``file`` was read and checked: it exists with these bytes
        self.findings: tuple[FindingRow, ...] = row[3]
        self.documents: tuple[Document, ...] = row[4]
        self.has_sources: bool = row[5]
        self.new_documents = False  # set by put_env: shared with the other envs' on saving

    def _parts(self) -> Heavy:
        if self._heavy is None:
            blob = self._blob
            if blob is None and self.file and self._folder is not None:
                blob = read_heavy(self._folder, self.file, self.env)
                self.file_read = blob is not None
            self._heavy = decode_heavy(blob)
        return self._heavy

    @property
    def docs(self) -> dict[str, Entry]:
        return self._parts()[0]

    @property
    def cross(self) -> CrossEntry:
        return self._parts()[1]

    @cross.setter
    def cross(self, value: CrossEntry) -> None:
        docs, _, rendered = self._parts()
        self._heavy = (docs, value, rendered)

    @property
    def rendered(self) -> dict[str, DocRecord]:
        return self._parts()[2]

    @rendered.setter
    def rendered(self, value: dict[str, DocRecord]) -> None:
        docs, cross, _ = self._parts()
        self._heavy = (docs, cross, value)

    def heavy(self) -> str | bytes:
        """The heavy part as stored: its file's name, or the blob still to write. A record read
        from a file reaches a new run's records only whole (``env_hit``), never changed."""
        if self.file or self._heavy is None:
            return self.file or self._blob or ""
        return marshal.dumps(self._heavy)

    def row(self, heavy: str | bytes) -> tuple[Any, ...]:
        return (
            self.signature,
            self.schema_reads,
            heavy,
            self.findings,
            self.documents,
            self.has_sources,
        )


def share_documents(records: Iterable[EnvRecord]) -> None:
    """One object for equal (kind, name, source) tuples across environments (most documents
    exist in each, with source "" unless a path filter asked for it): marshal then writes a
    tuple once and a reference after, and the light file loads in about half the time."""
    pool: dict[Document, Document] = {}
    fresh = []
    for record in records:
        if record.new_documents:
            fresh.append(record)
        else:  # read from the light file: already shared
            pool.update(zip(record.documents, record.documents, strict=True))
    for record in fresh:
        record.documents = tuple([pool.setdefault(doc, doc) for doc in record.documents])
        record.new_documents = False


def remove_unnamed(folder: Path, named: set[str], previous: set[str]) -> None:
    """Remove the heavy files the light file just written does not name: the ones the previous
    light file named, and orphans (of a run that stopped before writing its light file). A file
    a concurrent run may have written moments ago for its own light file is left for later;
    a concurrent run removing ours only costs a re-render."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    cutoff = time.time() - _ORPHAN_AGE_S
    for entry in entries:
        if entry.name in named or not HEAVY_NAME.fullmatch(entry.name):
            continue
        with contextlib.suppress(OSError):  # gone already: removed by a concurrent run
            if entry.name in previous or entry.stat().st_mtime < cutoff:
                os.unlink(entry.path)

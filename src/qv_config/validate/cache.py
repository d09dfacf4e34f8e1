"""The per-document result cache of ``qv validate`` under ``<root>/.qv/cache/`` (safe to delete).

One marshal file (builtin types only: fast to load) holds, per (environment, document), the input
key (content digests of every layer, of the environment document, of qv.yaml and of the service
schema) and what validating that document produced: its schema/document/secret findings and
the facts the cross-document rules need. A warm run re-validates only documents whose input key
changed. The header holds the qv version and the hash of the rules code; any mismatch, and any
unreadable file, means an empty cache.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from qv_config.findings import Finding, Severity
from qv_config.validate.types import DocFacts

FindingRow = tuple[str, str, str, int, int, str, str | None, str | None, str | None, str]
FactsRow = tuple[Any, ...]  # DocFacts as plain data (key, kind, name, spec)
# Input key, findings, facts, and the facts' digest (see ``facts_digest``).
Entry = tuple[str, tuple[FindingRow, ...], FactsRow, str]
# Aggregate key, cross-document findings, and the documents they point at (see incremental).
CrossEntry = tuple[str, tuple[FindingRow, ...], tuple[str, ...]]
# How one document was rendered, by its main file's path (see ``validate.incremental``):
# pre-render key, document key, kind, name, template chain ((name, digest), ...), input key,
# service schema path ("" for none) and that schema's digest.
DocRecord = tuple[str, str, str, str, tuple[tuple[str, str], ...], str, str, str]
_FORMAT = "qv-validate-cache/9"


@cache
def header() -> tuple[str, ...]:
    # Once per process: it reads and hashes the rule, model and render sources (~3 ms).
    from qv_config import __version__
    from qv_config.validate.registry import rules_code_hash

    return (_FORMAT, __version__, rules_code_hash(), f"{sys.version_info[0]}.{sys.version_info[1]}")


def to_row(f: Finding) -> FindingRow:
    return (
        f.code,
        f.message,
        f.file,
        f.line,
        f.col,
        f.severity.value,
        f.env,
        f.kind,
        f.name,
        f.field,
    )


def from_row(row: FindingRow) -> Finding:
    code, message, file, line, col, severity, env, kind, name, field = row
    return Finding(code, message, file, line, col, Severity(severity), env, kind, name, field)


def encode_facts(facts: DocFacts) -> FactsRow | None:
    """Facts as plain data for the cache (None: a value marshal cannot store). They travel inside
    the environment's blob, decoded with it in one call rather than one call per document."""
    row = (facts.key, facts.kind, facts.name, dict(facts.spec))
    try:
        marshal.dumps(row)
    except ValueError:
        return None
    return row


def decode_facts(row: FactsRow) -> DocFacts:
    return DocFacts(*row)


def facts_digest(row: FactsRow) -> str:
    """What the cross-document rules read of a document, as a digest. repr, not marshal:
    marshal's bytes vary with string interning and object sharing; repr of plain data is exact
    (1 vs 1.0 vs True, nan and inf vs None)."""
    return hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()


class _EnvRecord:
    """What one environment left in the cache (stored as a plain tuple, see ``row``)."""

    def __init__(self, row: tuple[Any, ...] | None = None) -> None:
        row = row or ("", (), None, (), (), False)
        self.signature: str = row[0]
        self.schema_reads: tuple[tuple[str, str], ...] = tuple(map(tuple, row[1]))
        # Per-document entries, cross findings and render records are one marshal blob, decoded
        # only when this environment is re-validated (a warm run of 10,000 documents skips it).
        self._blob: bytes | None = row[2]
        self._heavy: tuple[dict[str, Entry], CrossEntry, dict[str, DocRecord]] | None = None
        self.findings: tuple[FindingRow, ...] = row[3]
        self.documents: tuple[tuple[str, str, str], ...] = row[4]
        self.has_sources: bool = row[5]

    def _parts(self) -> tuple[dict[str, Entry], CrossEntry, dict[str, DocRecord]]:
        if self._heavy is None:
            self._heavy = marshal.loads(self._blob) if self._blob else ({}, ("", (), ()), {})
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

    def row(self) -> tuple[Any, ...]:
        blob = self._blob if self._heavy is None else marshal.dumps(self._heavy)
        return (
            self.signature,
            self.schema_reads,
            blob,
            self.findings,
            self.documents,
            self.has_sources,
        )


class ResultCache:
    """The cache of one run: the previous run's records are read, the ones used are written back.

    Three levels, each keyed by content digests: a whole environment (signature of every file it
    renders from: reused without rendering), each document of it (schema and document-rule
    findings plus facts), and its cross-document findings (keyed by all its documents' keys).
    """

    def __init__(self, path: Path | None, stored: tuple[Any, ...] = ((), {}, (), ())) -> None:
        self.path = path
        self._old: dict[str, _EnvRecord] = {e: _EnvRecord(r) for e, r in dict(stored[1]).items()}
        self._new: dict[str, _EnvRecord] = {}
        self._dirty = False
        self.schemas_ok: set[str] = set(stored[2])  # digests checked against the metaschema
        # Keys of what a built-in model reads of a document (see engine._model_key) that its
        # pydantic model accepted: a hit spares importing pydantic on a warm run.
        self.models_ok: set[str] = set(stored[3])
        self._seen = (len(self.schemas_ok), len(self.models_ok))

    @classmethod
    def load(cls, root: Path) -> ResultCache:
        from qv_config.repo.statefile import read_state_file

        path = root / ".qv" / "cache" / "validate.marshal"
        # Sealed (repo.statefile): stored findings decide what validate reports, so a file this
        # user's qv did not write (committed, from another machine's CI cache) is never read.
        # One read, then loads: marshal.load on a file object reads in small pieces (~4x slower
        # for a cache of a few MB).
        blob = read_state_file(path)
        try:
            stored = marshal.loads(blob) if blob is not None else None
            if isinstance(stored, tuple) and len(stored) == 4 and stored[0] == header():
                return cls(path, stored)
        except Exception:  # corrupt: rebuild
            pass
        return cls(path)

    @classmethod
    def disabled(cls) -> ResultCache:
        return cls(None)

    def env_hit(
        self, env: str, signature: str, digest_of: Callable[[str], str], need_sources: bool
    ) -> tuple[list[Finding], tuple[tuple[str, str, str], ...]] | None:
        """Every finding and document of ``env`` when nothing it was built from changed."""
        old = self._old.get(env)
        if old is None or old.signature != signature or (need_sources and not old.has_sources):
            return None
        if any(digest_of(path) != digest for path, digest in old.schema_reads):
            return None
        self._new[env] = old
        return [from_row(r) for r in old.findings], old.documents

    def _record(self, env: str) -> _EnvRecord:
        if env not in self._new:
            self._new[env] = _EnvRecord()
        return self._new[env]

    def get(self, env: str, key: str, input_key: str) -> tuple[list[Finding], FactsRow, str] | None:
        """Findings, facts and facts digest of a document whose input key is unchanged."""
        old = self._old.get(env)
        entry = old.docs.get(key) if old is not None else None
        if entry is None or entry[0] != input_key:
            return None
        self._record(env).docs[key] = entry
        return [from_row(r) for r in entry[1]], entry[2], entry[3]

    def put(
        self, env: str, key: str, input_key: str, findings: list[Finding], facts: DocFacts
    ) -> None:
        row = encode_facts(facts) if self.path is not None else None
        if row is not None:
            rows = tuple(to_row(f) for f in findings)
            self._record(env).docs[key] = (input_key, rows, row, facts_digest(row))
            self._dirty = True

    def has(self, env: str, key: str, input_key: str) -> bool:
        old = self._old.get(env)
        entry = old.docs.get(key) if old is not None else None
        return entry is not None and entry[0] == input_key

    def records(self, env: str) -> dict[str, DocRecord]:
        """The previous run's render records of ``env`` (main path -> record)."""
        old = self._old.get(env)
        return old.rendered if old is not None else {}

    def put_records(self, env: str, records: dict[str, DocRecord]) -> None:
        if self.path is not None:
            self._record(env).rendered = records
            self._dirty = True

    def export(self, env: str) -> tuple[Any, ...] | None:
        """This run's record of ``env`` as plain data (from a worker process to the parent)."""
        record = self._new.get(env)
        return record.row() if record is not None else None

    def adopt(
        self, env: str, row: tuple[Any, ...] | None, schemas_ok: set[str], models_ok: set[str]
    ) -> None:
        """Take over a record a worker process built (see ``export``)."""
        self.schemas_ok |= schemas_ok
        self.models_ok |= models_ok
        if row is not None and self.path is not None:
            self._new[env] = _EnvRecord(row)
            self._dirty = True

    def has_cross(self, env: str) -> bool:
        """Whether the previous run left cross-document findings for ``env`` (cold: no)."""
        old = self._old.get(env)
        return old is not None and bool(old.cross[0])

    def stored_facts_digest(self, env: str, key: str) -> str | None:
        """The facts digest this run stored or reused for document ``key`` of ``env``."""
        record = self._new.get(env)
        entry = record.docs.get(key) if record is not None else None
        return entry[3] if entry is not None else None

    def cross_targets(self, env: str) -> tuple[str, ...]:
        """The documents the previous run's cross-document findings of ``env`` point at."""
        old = self._old.get(env)
        return old.cross[2] if old is not None else ()

    def get_cross(self, env: str, key: str) -> list[Finding] | None:
        old = self._old.get(env)
        if old is None or old.cross[0] != key:
            return None
        self._record(env).cross = old.cross
        return [from_row(r) for r in old.cross[1]]

    def put_cross(
        self, env: str, key: str, findings: list[Finding], targets: Iterable[str]
    ) -> None:
        if self.path is not None:
            rows = tuple(to_row(f) for f in findings)
            self._record(env).cross = (key, rows, tuple(sorted(targets)))
            self._dirty = True

    def put_env(
        self,
        env: str,
        signature: str,
        schema_reads: tuple[tuple[str, str], ...],
        findings: list[Finding],
        documents: tuple[tuple[str, str, str], ...],
        has_sources: bool,
    ) -> None:
        if self.path is None:
            return
        record = self._record(env)
        record.signature, record.schema_reads = signature, schema_reads
        record.findings = tuple(to_row(f) for f in findings)
        record.documents, record.has_sources = documents, has_sources
        self._dirty = True

    def save(self) -> None:
        """Write atomically (tmp file + rename); a cache that cannot be written is only slower."""
        unchanged = not self._dirty and (len(self.schemas_ok), len(self.models_ok)) == self._seen
        if self.path is None or (unchanged and self._new.keys() == self._old.keys()):
            return
        from qv_config.repo.statefile import write_state_file

        records = {env: record.row() for env, record in self._new.items()}
        try:
            blob = marshal.dumps((header(), records, self.schemas_ok, self.models_ok))
        except ValueError:  # a value marshal cannot store: skip caching rather than fail
            return
        write_state_file(self.path, blob)

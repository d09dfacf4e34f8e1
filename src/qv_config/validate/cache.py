"""The per-document result cache of ``qv validate`` under ``<root>/.qv/cache/`` (safe to delete).

It holds, per (environment, document), the input key (content digests of every layer, of the
environment document, of qv.yaml and of the service schema) and what validating that document
produced: its schema/document/secret findings and the facts the cross-document rules need. A
warm run re-validates only documents whose input key changed.

Layout (marshal: builtin types only, fast to load; every file sealed, see ``repo.statefile``):

- ``validate.marshal``, the light file: a header (qv version, hash of the rules code, Python
  version; any mismatch, and any unreadable file, means an empty cache), per environment a light
  row (signature, schemas read, all findings, document names, and the name of its heavy file),
  and the sets of accepted schemas and models. Every run reads it whole.
- ``validate-<env>-<digest>.marshal``, one heavy file per environment: its per-document entries,
  cross-document findings and render records (~1.8 MB for 3,800 documents). Read only when
  that environment is re-validated, written only when it was. ``digest`` covers the header, the
  environment and the bytes, and is checked on reading: a light file never pairs with a heavy
  file of another generation. A missing or bad heavy file only costs a full re-render of that
  environment. Heavy files are written before the light file that names them; the ones no longer
  named are removed after it.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from qv_config.findings import Finding, Severity
from qv_config.validate.cachefile import (
    LIGHT,
    CrossEntry,
    DocRecord,
    Entry,
    EnvRecord,
    FactsBlob,
    FindingRow,
    PreKey,
    header,
    heavy_name,
    remove_unnamed,
    share_documents,
)
from qv_config.validate.types import DocFacts

__all__ = [  # the file layer's types and names, for the modules that use the cache
    "CrossEntry",
    "DocRecord",
    "Entry",
    "FactsBlob",
    "FindingRow",
    "PreKey",
    "ResultCache",
    "decode_facts",
    "encode_facts",
    "facts_digest",
    "from_row",
    "header",
    "heavy_name",
    "to_row",
]


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


def encode_facts(facts: DocFacts) -> tuple[FactsBlob, str] | None:
    """Facts as bytes for the cache, and their digest (None: a value marshal cannot store)."""
    row = (facts.key, facts.kind, facts.name, dict(facts.spec))
    try:
        return marshal.dumps(row), facts_digest(row)
    except ValueError:
        return None


def decode_facts(blob: FactsBlob) -> DocFacts:
    return DocFacts(*marshal.loads(blob))


def facts_digest(row: tuple[Any, ...]) -> str:
    """What the cross-document rules read of a document, as a digest. repr, not marshal:
    marshal's bytes vary with string interning and object sharing; repr of plain data is exact
    (1 vs 1.0 vs True, nan and inf vs None)."""
    return hashlib.blake2b(repr(row).encode(), digest_size=16).hexdigest()


class ResultCache:
    """The cache of one run: the previous run's records are read, the ones used are written back.

    Three levels, each keyed by content digests: a whole environment (signature of every file it
    renders from: reused without rendering), each document of it (schema and document-rule
    findings plus facts), and its cross-document findings (keyed by all its documents' keys).
    """

    def __init__(self, path: Path | None, stored: tuple[Any, ...] = ((), {}, (), ())) -> None:
        self.path = path
        folder = path.parent if path is not None else None
        rows = dict(stored[1]).items()
        self._old: dict[str, EnvRecord] = {e: EnvRecord(e, r, folder) for e, r in rows}
        self._new: dict[str, EnvRecord] = {}
        self._dirty = False
        self.schemas_ok: set[str] = set(stored[2])  # digests checked against the metaschema
        # Keys of what a built-in model reads of a document (see engine._model_key) that its
        # pydantic model accepted: a hit spares importing pydantic on a warm run.
        self.models_ok: set[str] = set(stored[3])
        self._seen = (len(self.schemas_ok), len(self.models_ok))

    @classmethod
    def load(cls, root: Path) -> ResultCache:
        from qv_config.repo.statefile import read_state_file

        path = root / ".qv" / "cache" / LIGHT
        # Sealed (repo.statefile): stored findings decide what validate reports, so a file this
        # user's qv did not write (committed, from another machine's CI cache) is never read.
        # One read, then loads: marshal.load on a file object reads in small pieces (~4x slower).
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

    def _record(self, env: str) -> EnvRecord:
        if env not in self._new:
            self._new[env] = EnvRecord(env)
        return self._new[env]

    def get(
        self, env: str, key: str, input_key: str
    ) -> tuple[list[Finding], FactsBlob, str] | None:
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
        encoded = encode_facts(facts) if self.path is not None else None
        if encoded is not None:
            rows = tuple(to_row(f) for f in findings)
            self._record(env).docs[key] = (input_key, rows, *encoded)
            self._dirty = True

    def reusable(self, env: str, wanted: Mapping[str, str]) -> dict[str, Entry]:
        """The entries of the documents of ``wanted`` (key -> input key) whose input key is
        unchanged; one call for an environment's thousands of documents. ``reuse`` keeps them."""
        old = self._old.get(env)
        if old is None:
            return {}
        docs = old.docs
        found = {key: docs.get(key) for key in wanted}
        return {k: e for k, e in found.items() if e is not None and e[0] == wanted[k]}

    def reuse(self, env: str, entries: Mapping[str, Entry]) -> None:
        """Carry ``entries`` (from ``reusable``) into this run's record of ``env``."""
        self._record(env).docs.update(entries)

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
        return record.row(record.heavy()) if record is not None else None

    def adopt(
        self, env: str, row: tuple[Any, ...] | None, schemas_ok: set[str], models_ok: set[str]
    ) -> None:
        """Take over a record a worker process built (see ``export``)."""
        self.schemas_ok |= schemas_ok
        self.models_ok |= models_ok
        if row is not None and self.path is not None:
            self._new[env] = EnvRecord(env, row, self.path.parent)
            self._new[env].new_documents = True
            self._dirty = True

    def has_cross(self, env: str) -> bool:
        """Whether the previous run left cross-document findings for ``env`` (cold: no)."""
        old = self._old.get(env)
        return old is not None and bool(old.cross[0])

    def facts_digests(self, env: str) -> dict[str, str]:
        """The facts digest of each document this run stored or reused for ``env``."""
        record = self._new.get(env)
        return {key: entry[3] for key, entry in record.docs.items()} if record is not None else {}

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
        record.new_documents = True
        self._dirty = True

    def save(self, keep: Iterable[str] = ()) -> None:
        """Write the heavy files that changed, then the light file naming them (each atomically:
        tmp file + rename), then remove the heavy files no longer named. A cache that cannot be
        written only makes the next run slower. Environments of ``keep`` this run did not check
        (``qv validate --env dev``) keep their records as they were."""
        for env in keep:
            if env not in self._new and env in self._old:
                self._new[env] = self._old[env]
        unchanged = not self._dirty and (len(self.schemas_ok), len(self.models_ok)) == self._seen
        if self.path is None or (unchanged and self._new.keys() == self._old.keys()):
            return
        from qv_config.repo.statefile import write_state_file

        share_documents(self._new.values())
        try:
            rows = {env: self._stored_row(env, record) for env, record in self._new.items()}
            light = marshal.dumps((header(), rows, self.schemas_ok, self.models_ok))
        except ValueError:  # a value marshal cannot store: skip caching rather than fail
            return
        write_state_file(self.path, light)
        previous = {record.file for record in self._old.values()}
        remove_unnamed(self.path.parent, {row[2] for row in rows.values()}, previous)

    def _stored_row(self, env: str, record: EnvRecord) -> tuple[Any, ...]:
        """``record``'s light row; writes its heavy file first unless that file exists already."""
        from qv_config.repo.statefile import write_state_file

        assert self.path is not None
        heavy = record.heavy()
        if isinstance(heavy, bytes):
            name = heavy_name(env, heavy)
            old = self._old.get(env)
            if old is None or old.file != name or not old.file_read:  # else: already there
                write_state_file(self.path.parent / name, heavy)
            heavy = name
        return record.row(heavy)

"""``qv validate``'s memo: what validating each environment found, by the digests of its inputs.

``validate.qvc`` (read by every run) holds per environment its *signature* (digests of every
file it renders from, of qv.yaml, of the service schemas it read, and today's date), all its
findings and its document names: an environment whose signature is unchanged is answered
without rendering. It also holds the envelope keys the Config model accepted (a warm run then
needs no pydantic). ``validate-<env>.qvc`` (one per environment, read only when that
environment is checked again, written only when it was) holds per document its render record
(what it was rendered from: ``validate.incremental``), findings and cross-rule facts, and the
environment's cross-document findings with the key of the facts they came from.

Every entry is keyed by digests of everything its value depends on, so an authentic entry can
only be absent or right; the MACs (``cache.seal``, bound to the rules' code too) keep out
anything qv did not write for this user and project.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from qv_config.cache import pack
from qv_config.cache.seal import Sealer, sealer
from qv_config.findings import Finding, Severity

FindingRow = tuple[str, str, str, int, int, str, str | None, str | None, str | None, str]
# What a document was rendered from besides its template chain: the environment's shared part
# (Environment document, qv.yaml, today), role, main file digest, overlay path and digest.
PreKey = tuple[str, str, str, str, str]
# A document by its main file's path: pre-render key, template chain ((name, digest), ...),
# service schema path ("" for none) and digest, document key, kind, name, input key, findings,
# facts (marshal bytes, decoded only when the cross-document rules run again) and their digest.
DocRecord = tuple[
    PreKey, tuple[tuple[str, str], ...], str, str, str, str, str, str,
    tuple[FindingRow, ...], bytes, str,
]  # fmt: skip
# Key of the facts they were computed from, cross-document findings, documents they point at.
CrossEntry = tuple[str, tuple[FindingRow, ...], tuple[str, ...]]
Document = tuple[str, str, str]  # (kind, name, main file or "")
NO_CROSS: CrossEntry = ("", (), ())
_LIGHT = "validate.qvc"


@dataclass
class EnvRecord:
    """One environment's entry: its light row, and its documents and cross findings (decoded
    from its own file only when asked for)."""

    signature: str = ""
    schema_reads: tuple[tuple[str, str], ...] = ()
    findings: tuple[FindingRow, ...] = ()
    documents: tuple[Document, ...] = ()
    has_sources: bool = False
    heavy: tuple[dict[str, DocRecord], CrossEntry] | None = field(default=None, repr=False)

    def row(self) -> tuple[Any, ...]:
        return self.signature, self.schema_reads, self.findings, self.documents, self.has_sources


class Results:
    """The previous run's records, and this run's, written back by ``save``."""

    def __init__(self, root: Path | None) -> None:
        self._folder = root / ".qv" / "cache" if root is not None else None
        self._root = root
        self._seal = sealer(root, _LIGHT, rules_code_hash())
        blob = pack.read_one(self._folder / _LIGHT, self._seal, "light") if self._folder else None
        rows, schemas_ok, models_ok = marshal.loads(blob) if blob else ({}, set(), set())
        self._old = {env: EnvRecord(*row) for env, row in rows.items()}
        self._new: dict[str, EnvRecord] = {}
        self.schemas_ok: set[str] = schemas_ok  # digests checked against the metaschema
        self.models_ok: set[str] = models_ok  # Config envelopes the model accepted
        self._seen = (len(schemas_ok), len(models_ok))

    @property
    def enabled(self) -> bool:
        return self._seal is not None

    def env_hit(
        self, env: str, signature: str, digest_of: Callable[[str], str], need_sources: bool
    ) -> tuple[list[Finding], tuple[Document, ...]] | None:
        """Every finding and document of ``env`` when nothing it was built from changed
        (``digest_of``: the current digest of a schema file)."""
        old = self._old.get(env)
        if old is None or old.signature != signature or (need_sources and not old.has_sources):
            return None
        if any(digest_of(path) != digest for path, digest in old.schema_reads):
            return None
        self._new[env] = old
        return [from_row(r) for r in old.findings], old.documents

    def previous(self, env: str) -> tuple[dict[str, DocRecord], CrossEntry]:
        """The previous run's document records (by main path) and cross findings of ``env``."""
        old = self._old.get(env)
        if old is None or self._folder is None:
            return {}, NO_CROSS
        if old.heavy is None:
            name = _heavy_name(env)
            seal = sealer(self._root, name, rules_code_hash())
            blob = pack.read_one(self._folder / name, seal, "heavy")
            old.heavy = marshal.loads(blob) if blob else ({}, NO_CROSS)
        return old.heavy

    def put(self, env: str, record: EnvRecord) -> None:
        """Keep ``env``'s new record: its documents go to their file at once (not held until
        ``save``: memory), its light row with the others."""
        if self._folder is None or self._seal is None:
            return
        name = _heavy_name(env)
        seal = sealer(self._root, name, rules_code_hash())
        pack.write(self._folder / name, seal, {"heavy": marshal.dumps(record.heavy)})
        record.heavy = None
        self._new[env] = record

    def save(self, keep: Iterable[str] = ()) -> None:
        """Write the light file (the environments checked again wrote their own files already);
        remove the files of environments no longer kept. Environments of ``keep`` this run did
        not check (``qv validate --env dev``) keep their records as they were."""
        if self._folder is None or self._seal is None:
            return
        for env in keep:
            if env not in self._new and env in self._old:
                self._new[env] = self._old[env]
        fresh = [env for env, record in self._new.items() if record is not self._old.get(env)]
        seen = (len(self.schemas_ok), len(self.models_ok))
        if not fresh and seen == self._seen and self._new.keys() == self._old.keys():
            return
        rows = {env: record.row() for env, record in self._new.items()}
        light = marshal.dumps((rows, self.schemas_ok, self.models_ok))
        pack.write(self._folder / _LIGHT, self._seal, {"light": light})
        _remove_others(self._folder, {_heavy_name(env) for env in self._new})


def _heavy_name(env: str) -> str:
    """A plain file name for ``env``'s records (the hash keeps escaped names apart)."""
    tag = hashlib.blake2b(env.encode("utf-8", "surrogateescape"), digest_size=4).hexdigest()
    return f"validate-{re.sub(r'[^A-Za-z0-9_-]', '_', env)[:40]}-{tag}.qvc"


def _remove_others(folder: Path, named: set[str]) -> None:
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith("validate-") and entry.name not in named:
                with contextlib.suppress(OSError):  # removed already by a concurrent run
                    os.unlink(entry.path)


@cache
def rules_code_hash() -> str:
    """Hash of the rules', models' and renderer's code (reads them: once per process)."""
    from qv_config.validate.registry import rules_code_hash as code_hash

    return code_hash()


def to_row(f: Finding) -> FindingRow:
    return (f.code, f.message, f.file, f.line, f.col, f.severity.value, f.env, f.kind, f.name,
            f.field)  # fmt: skip


def from_row(row: FindingRow) -> Finding:
    code, message, file, line, col, severity, env, kind, name, field_ = row
    return Finding(code, message, file, line, col, Severity(severity), env, kind, name, field_)


__all__ = ["CrossEntry", "DocRecord", "EnvRecord", "PreKey", "Results", "Sealer"]

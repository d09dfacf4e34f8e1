"""``qv validate``'s memo: one pack per environment (``validate-<env>-<hash>.qvc``): ``row``
(signature, schema reads, findings, memo id), ``names`` and ``mains`` (its documents),
``s00``…``s31`` (per document by main file: what it was rendered from and what checking found,
sharded so that a few changed documents rewrite their shards only); and ``validate.qvc``, the
Config envelopes the model accepted. Every entry is keyed by digests of all its value depends
on: authentic, it can only be absent or right."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import zlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qv_config.cache import pack
from qv_config.cache.pack import Sealer, sealer
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
# Cross-document findings and the keys of the documents they point at.
CrossEntry = tuple[tuple[FindingRow, ...], tuple[str, ...]]
NO_CROSS: CrossEntry = ((), ())
SHARDS = 32
_LIGHT = "validate.qvc"


@dataclass
class EnvRow:
    """What every run that meets an environment reads of its memo."""

    rid: str = ""
    signature: str = ""
    today: str = ""
    schema_reads: tuple[tuple[str, str], ...] = ()
    render_rows: tuple[FindingRow, ...] = ()  # the renderer's (documents without a record)
    record_rows: tuple[FindingRow, ...] = ()  # of every record
    cross: CrossEntry = NO_CROSS
    # Main file -> (key, facts digest) of each document rendered every run (no record: it did
    # not render, "" facts, or its facts could not be stored).
    failed: dict[str, tuple[str, str]] = field(default_factory=dict)

    def findings(self) -> list[Finding]:
        return [from_row(row) for row in (*self.render_rows, *self.record_rows, *self.cross[0])]


@dataclass
class Documents:
    """An environment's documents: ``names`` ("kind\0name") and their ``mains`` (main files),
    in two aligned lists (a run that only counts them decodes the names alone)."""

    names: list[str] = field(default_factory=list)
    mains: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    def without(self, mains: Collection[str]) -> Documents:
        pairs = [(n, m) for n, m in zip(self.names, self.mains, strict=True) if m not in mains]
        return Documents([n for n, _ in pairs], [m for _, m in pairs])


class Damaged(Exception):
    """A record of a memo whose row is authentic is missing or fails its MAC: the memo cannot
    be used by difference (callers treat the environment as having none)."""


class EnvMemo:
    """One environment's memo as a previous run left it, read on demand (``row`` None: none).
    Every part must be there: one that is not raises ``Damaged``."""

    def __init__(self, found: pack.Pack | None = None) -> None:
        self._pack = found
        blob = found.get("row") if found is not None else None
        self.row = EnvRow(*marshal.loads(blob)) if blob is not None else None
        self._lists: dict[str, list[str]] = {}
        self._shards: dict[int, dict[str, DocRecord]] = {}

    def names(self) -> list[str]:
        """The documents' "kind\0name"."""
        return self._list("names")

    def documents(self) -> Documents:
        return Documents(self._list("names"), self._list("mains"))

    def _list(self, name: str) -> list[str]:
        if name not in self._lists:
            self._lists[name] = marshal.loads(self._need(name)) if self.row else []
        return self._lists[name]

    def records(self, mains: Iterable[str] = ()) -> dict[str, DocRecord]:
        """The records of ``mains`` that exist."""
        out: dict[str, DocRecord] = {}
        if self.row is None:  # no memo (a first run): no record, and no 20,000 hashes to find
            return out
        for main in mains:
            record = self.shard(shard_of(main)).get(main)
            if record is not None:
                out[main] = record
        return out

    def all_records(self) -> dict[str, DocRecord]:
        out: dict[str, DocRecord] = {}
        for number in range(SHARDS):
            out.update(self.shard(number))
        return out

    def shard(self, number: int) -> dict[str, DocRecord]:
        if number not in self._shards:
            found = marshal.loads(self._need(_shard_name(number))) if self.row else {}
            self._shards[number] = found
        return self._shards[number]

    def raw(self, name: str) -> pack.Sealed | None:
        return self._pack.raw(name) if self._pack is not None and self.row else None

    def _need(self, name: str) -> bytes:
        blob = self._pack.get(name) if self._pack is not None else None
        if blob is None:
            raise Damaged(name)
        return blob


NO_MEMO = EnvMemo()


class Results:
    """The memos of the project at ``root`` (None: nothing is read or written)."""

    def __init__(self, root: Path | None) -> None:
        self._folder = root / ".qv" / "cache" if root is not None else None
        self._root = self.root = root
        self._seal = sealer(root, _LIGHT) if root is not None else None
        blob = pack.read_one(self._folder / _LIGHT, self._seal, "light") if self._folder else None
        self.models_ok: set[str] = marshal.loads(blob) if blob else set()  # envelopes accepted
        self._seen = len(self.models_ok)

    @property
    def enabled(self) -> bool:
        return self._seal is not None

    def memo(self, env: str) -> EnvMemo:
        if self._folder is None or self._seal is None:
            return NO_MEMO
        name = _env_file(env)
        return EnvMemo(pack.Pack.open(self._folder / name, self._seal_of(name)))

    def put(
        self,
        env: str,
        row: EnvRow,
        documents: Documents,
        shards: Mapping[int, dict[str, DocRecord]],
        old: EnvMemo,
    ) -> None:
        """Write ``env``'s memo: ``shards`` are the shards that changed; the others are copied
        from ``old`` (its records were checked to still hold)."""
        if self._folder is None or self._seal is None:
            return
        records: dict[str, bytes | pack.Sealed] = {}
        for number in range(SHARDS):
            name = _shard_name(number)
            # Unchanged shards are copied as stored, unchecked: their MAC is checked when read.
            blob = marshal.dumps(shards[number]) if number in shards else old.raw(name)
            if blob is not None:
                records[name] = blob
        records["names"] = marshal.dumps(documents.names)
        records["mains"] = marshal.dumps(documents.mains)
        records["row"] = marshal.dumps(tuple(row.__dict__.values()))
        name = _env_file(env)
        pack.write(self._folder / name, self._seal_of(name), records)

    def _seal_of(self, name: str) -> Sealer | None:
        return sealer(self._root, name)

    def save(self, keep: Iterable[str]) -> None:
        """Write the light file when it grew; remove the files of environments not in
        ``keep`` (no longer in qv.yaml)."""
        if self._folder is None or self._seal is None:
            return
        if len(self.models_ok) != self._seen:
            pack.write(self._folder / _LIGHT, self._seal, {"light": marshal.dumps(self.models_ok)})
        _remove_others(self._folder, {_env_file(env) for env in keep})


def new_rid() -> str:
    import secrets  # here: a run that keeps every result imports none of it

    return secrets.token_hex(8)


def shard_of(main: str) -> int:
    return zlib.crc32(main.encode("utf-8", "surrogateescape")) % SHARDS


def _shard_name(number: int) -> str:
    return f"s{number:02d}"


def _env_file(env: str) -> str:
    """A plain file name for ``env``'s memo (the hash keeps escaped names apart)."""
    tag = hashlib.blake2b(env.encode("utf-8", "surrogateescape"), digest_size=4).hexdigest()
    return f"validate-{re.sub(r'[^A-Za-z0-9_-]', '_', env)[:40]}-{tag}.qvc"


def _remove_others(folder: Path, named: set[str]) -> None:
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith("validate-") and entry.name not in named:
                with contextlib.suppress(OSError):  # removed already by a concurrent run
                    os.unlink(entry.path)


def to_row(f: Finding) -> FindingRow:
    return (f.code, f.message, f.file, f.line, f.col, f.severity.value, f.env, f.kind, f.name,
            f.field)  # fmt: skip


def from_row(row: FindingRow) -> Finding:
    code, message, file, line, col, severity, env, kind, name, field_ = row
    return Finding(code, message, file, line, col, Severity(severity), env, kind, name, field_)


def rows_of(records: Iterable[DocRecord]) -> list[FindingRow]:
    return [row for record in records for row in record[8]]

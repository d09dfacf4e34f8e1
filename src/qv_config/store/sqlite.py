"""SQLite store: stdlib sqlite3 in WAL mode; table ``kv(key, value)`` and table ``audit``.

Readers poll ``_meta`` for changes (SPEC §6). An apply is one ``BEGIN IMMEDIATE`` transaction that
first compares ``_meta`` with what the plan was made from (the fence).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qv_config.store import layout
from qv_config.store.errors import FenceConflict, NoStore, StoreError, StoreLost
from qv_config.store.types import AuditEntry, Commit, IndexState, StoreState
from qv_config.store.url import StoreUrl

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, env TEXT NOT NULL,"
    " entry TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS audit_env ON audit (env, seq)",
    "CREATE TABLE IF NOT EXISTS lease (env TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " expires REAL NOT NULL)",
)


def _raw(value: bytes | None) -> bytes:
    """A value as stored; NULL (possible in a table made by hand) is b"", which no canonical JSON
    equals: drift, never a crash."""
    return value if value is not None else b""


# Keys and values as their bytes whatever their SQLite type (text, a blob, a number typed by
# hand): nothing is decoded by sqlite3, so bytes that are not UTF-8 are drift too, never a
# decoding error (a key is decoded by ``layout.key_text``, keeping such bytes as surrogates).
_SELECT = "SELECT CAST(key AS BLOB), CAST(value AS BLOB) FROM kv WHERE "
# A key given as its bytes (``layout.key_bytes``): one that is not UTF-8 is matched too.
_DELETE = "DELETE FROM kv WHERE key = CAST(? AS TEXT)"


_JOURNAL = ("-wal", "-shm")


def _journal(path: Path) -> dict[str, tuple[int, int]]:
    """The identity of the -wal and -shm files beside ``path`` (SQLite made them at the open)."""
    out = {}
    for suffix in _JOURNAL:
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        out[suffix] = (st.st_dev, st.st_ino)
    return out


def _set_aside(path: Path, journal: dict[str, tuple[int, int]]) -> tuple[str, ...]:
    """The file at ``path`` was replaced (a restored backup) or deleted: its -wal and -shm, when
    still those of the old file, are renamed to ``<name>.replaced``. SQLite names them after the
    path, not the file: left there, the old file's log would be replayed onto the restored one (read
    as the old store, and checkpointed into it). Returns the names set aside."""
    moved = []
    for suffix, identity in journal.items():
        name = f"{path}{suffix}"
        try:
            st = os.stat(name)
            if (st.st_dev, st.st_ino) == identity:
                os.replace(name, f"{name}.replaced")
                moved.append(os.path.basename(name))
        except OSError:
            continue  # gone already, or not ours to move: the reopen reports what it finds
    return tuple(moved)


def _rows(rows: list[Any]) -> list[tuple[str, bytes | None]]:
    return [(layout.key_text(key), value) for key, value in rows]


# How often a follower asks SQLite whether another connection committed (SPEC §6: readers poll).
# A PRAGMA and a stat, ~10 µs: 20 a second cost nothing and bound the delay an apply takes to
# reach a ConfigClient.
POLL_SECONDS = 0.05


class SqliteStore:
    def __init__(self, url: StoreUrl, *, create: bool = True, dry_run: bool = False) -> None:
        """``create``: a missing file is made (writers); else it is ``NoStore`` — or, for a
        ``dry_run``, an empty store in memory (a plan against nothing deployed, no file made)."""
        assert url.path is not None
        self.url = url
        self.last_commit_changes = 0  # rows written by the last commit (sqlite3 changes())
        self.created = not url.path.exists()  # this open makes a new, empty store
        if self.created and not create and not dry_run:
            raise NoStore(str(url.path))
        memory = self.created and not create
        try:
            self._db = self._connect(url.path, create, memory)
            for statement in _SCHEMA:
                self._db.execute(statement)
            st = None if memory else os.stat(url.path)
        except (sqlite3.Error, OSError) as err:
            raise self._error(err) from None
        self._identity = None if st is None else (st.st_dev, st.st_ino)
        self._journal = {} if memory else _journal(url.path)

    @staticmethod
    def _connect(path: Path, create: bool, memory: bool) -> sqlite3.Connection:
        if memory:
            return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        # mode=rw: a file deleted since the check above is an error, not a new empty store.
        target = str(path) if create else path.absolute().as_uri() + "?mode=rw"
        db = sqlite3.connect(
            target, timeout=30, isolation_level=None, check_same_thread=False, uri=not create
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db

    def _check_file(self) -> None:
        """The file opened is still the file at the path (a stat, ~2 µs, before each use)."""
        path = self.url.path
        assert path is not None
        if self._identity is None:  # a dry run's empty store in memory: no file to check
            return
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise StoreLost(str(path), "deleted", _set_aside(path, self._journal)) from None
        except OSError as err:
            raise self._error(err) from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise StoreLost(str(path), "replaced", _set_aside(path, self._journal))

    def _error(self, err: Exception) -> StoreError:
        return StoreError(
            f"cannot use the SQLite store {self.url.path}: {err}",
            hint="check that the file is a SQLite database and writable",
        )

    def _env_range(self, env: str) -> tuple[str, str]:
        start = layout.env_prefix(self.url.prefix, env)
        return start, start[:-1] + chr(ord("/") + 1)

    def read(self, env: str) -> StoreState:
        self._check_file()
        start, end = self._env_range(env)
        cut = len(self.url.prefix) + 1
        try:
            self._db.execute("BEGIN")  # one snapshot for meta and values (WAL read transaction)
            rows = _rows(
                self._db.execute(_SELECT + "key >= ? AND key < ?", (start, end)).fetchall()
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None
        meta_key = layout.meta_key(self.url.prefix, env)
        meta: bytes | None = None
        values: dict[str, bytes] = {}
        for key, value in rows:
            if key == meta_key:
                meta = _raw(value)
            elif not layout.is_own_key(key[cut:]):  # a value, or a key qv did not write
                values[key[cut:]] = _raw(value)
        return StoreState(meta_raw=meta, token=meta, values=values)

    def read_values(self, env: str, keys: list[str]) -> StoreState:
        p, meta_key = self.url.prefix, layout.meta_key(self.url.prefix, env)
        wanted = [meta_key, *(f"{p}/{k}" for k in keys)]
        self._check_file()
        try:
            self._db.execute("BEGIN")  # one snapshot across the chunks
            rows = []
            for i in range(0, len(wanted), 500):  # below any SQLite build's variable limit
                chunk = wanted[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows += _rows(self._db.execute(_SELECT + f"key IN ({marks})", chunk).fetchall())
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None
        found = {key: _raw(value) for key, value in rows}
        meta = found.pop(meta_key, None)
        values = {key[len(p) + 1 :]: value for key, value in found.items()}
        return StoreState(meta_raw=meta, token=meta, values=values)

    def read_index(self, env: str) -> IndexState:
        self._check_file()
        meta_key = layout.meta_key(self.url.prefix, env)
        index_key = layout.index_key(self.url.prefix, env)
        try:
            self._db.execute("BEGIN")
            rows = dict(
                _rows(self._db.execute(_SELECT + "key IN (?, ?)", (meta_key, index_key)).fetchall())
            )
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None
        meta = _raw(rows[meta_key]) if meta_key in rows else None
        index = _raw(rows[index_key]) if index_key in rows else None
        return IndexState(meta_raw=meta, token=meta, index_raw=index)

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def commit(self, env: str, change: Commit) -> None:
        p = self.url.prefix
        meta_key = layout.meta_key(p, env)
        self._check_file()
        try:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(_SELECT + "key = ?", (meta_key,)).fetchone()
            current = _raw(row[1]) if row else None
            if current != change.expect:
                self._db.execute("ROLLBACK")
                raise FenceConflict(f"{meta_key} changed while planning: another writer applied")
            self._write(env, change, meta_key)
            self._db.execute("COMMIT")
            self.last_commit_changes = self._db.total_changes - before
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None

    def _write(self, env: str, change: Commit, meta_key: str) -> None:
        p = self.url.prefix
        puts = [(f"{p}/{k}", v.decode()) for k, v in change.plan.puts.items()]
        self._db.executemany("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", puts)
        self._db.executemany(
            _DELETE, [(layout.key_bytes(f"{p}/{k}"),) for k in change.plan.deletes]
        )
        self._db.execute(
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (meta_key, change.meta.decode())
        )
        self._write_index(env, change)
        self._insert_audit(env, change.audit)

    def _write_index(self, env: str, change: Commit) -> None:
        p, index = self.url.prefix, change.index
        top = layout.index_key(p, env)
        if index is None:
            self._db.execute(_DELETE, (layout.key_bytes(top),))
            return
        rows = [(top, index.top)] + [
            (layout.index_shard_key(p, env, s), raw) for s, raw in index.shards.items()
        ]
        self._db.executemany(
            "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
            [(k, v.decode()) for k, v in rows if v is not None],
        )
        self._db.executemany(_DELETE, [(layout.key_bytes(k),) for k, v in rows if v is None])

    def read_index_shards(self, env: str, shards: list[str]) -> dict[str, bytes | None]:
        keys = {layout.index_shard_key(self.url.prefix, env, s): s for s in shards}
        marks = ",".join("?" * len(keys))
        self._check_file()
        try:
            rows = _rows(self._db.execute(_SELECT + f"key IN ({marks})", list(keys)).fetchall())
        except sqlite3.Error as err:
            raise self._error(err) from None
        found: dict[str, bytes | None] = dict.fromkeys(shards)
        found.update({keys[k]: _raw(v) for k, v in rows})
        return found

    def _insert_audit(self, env: str, entry: AuditEntry) -> None:
        self._db.execute(
            "INSERT INTO audit (env, entry) VALUES (?, ?)",
            (env, layout.encode_audit(entry).decode()),
        )

    def append_audit(self, env: str, entry: AuditEntry) -> None:
        self._check_file()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._insert_audit(env, entry)
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None

    def audit(self, env: str, limit: int | None = None) -> list[AuditEntry]:
        self._check_file()
        sql = "SELECT seq, CAST(entry AS BLOB) FROM audit WHERE env = ? ORDER BY seq DESC"
        args: tuple[Any, ...] = (env,)
        if limit is not None:
            sql, args = sql + " LIMIT ?", (env, limit)
        try:
            rows = self._db.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise self._error(err) from None
        return [layout.decode_audit(_raw(entry), str(seq)) for seq, entry in rows]

    def repair_hint(self, env: str) -> str:
        key = layout.meta_key(self.url.prefix, env)
        return (
            f"inspect it with `sqlite3 {self.url.path} \"select value from kv where key='{key}'\"`"
        )

    def _lease_txn(self, sql: str, args: tuple[Any, ...]) -> bool:
        """Run one lease statement in its own write transaction; True when it changed a row."""
        self._check_file()
        try:
            self._db.execute("BEGIN IMMEDIATE")
            changed = self._db.execute(sql, args).rowcount
            self._db.execute("COMMIT")
        except sqlite3.Error as err:
            self._rollback()
            raise self._error(err) from None
        return bool(changed)

    def acquire_lease(self, env: str, holder: str, ttl: float) -> bool:
        # One upsert whose WHERE only lets it through when free, expired or already ours.
        now = time.time()
        return self._lease_txn(
            "INSERT INTO lease (env, holder, expires) VALUES (?, ?, ?) ON CONFLICT(env) DO UPDATE"
            " SET holder = excluded.holder, expires = excluded.expires"
            " WHERE lease.holder = excluded.holder OR lease.expires < ?",
            (env, holder, now + ttl, now),
        )

    def renew_lease(self, env: str, holder: str, ttl: float) -> bool:
        now = time.time()
        return self._lease_txn(
            "UPDATE lease SET expires = ? WHERE env = ? AND holder = ? AND expires >= ?",
            (now + ttl, env, holder, now),
        )

    def release_lease(self, env: str, holder: str) -> None:
        self._lease_txn("DELETE FROM lease WHERE env = ? AND holder = ?", (env, holder))

    def _data_version(self) -> int:
        """SQLite's count of commits by *other* connections (this one's reads do not move it)."""
        self._check_file()
        try:
            row = self._db.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error as err:
            raise self._error(err) from None
        return int(row[0])

    def change_position(self, env: str) -> str:
        # data_version is per connection: a position from another connection differs, and the
        # follower then compares _meta once (nothing is missed, one check is spent).
        return str(self._data_version())

    def changes(self, env: str, since: str, idle: float) -> Iterator[str]:
        deadline = time.monotonic() + idle
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            version = str(self._data_version())
            if version != since:
                since = version
                yield version

    def close(self) -> None:
        self._db.close()

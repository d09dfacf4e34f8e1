"""Redis store (redis-py). Values are plain strings; the audit log is the stream ``P/{env}/_audit``;
each apply publishes on the channel ``P/{env}/_events`` and appends to the stream of that name.

Reads and applies are Lua scripts: Redis runs a script atomically, so a reader never sees a mix of
two revisions, and the script compares ``_meta`` before writing (the fence).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from qv_config.store import layout
from qv_config.store.errors import FenceConflict, StoreError
from qv_config.store.types import AuditEntry, Commit, IndexState, StoreState
from qv_config.store.url import StoreUrl, tls_context, tls_failure

if TYPE_CHECKING:
    pass

_BLOCK_MS = 1000  # one XREAD waits at most this long: a follower's close is noticed soon

T = TypeVar("T")

# Every key under P/{env}/ with its value; keys starting with "_" (qv's own: index shards,
# streams; or written behind its back) without it: only their names matter to a reader.
_READ = """
local keys = redis.call('KEYS', ARGV[1])
local plen = tonumber(ARGV[2])
local out = {}
for i = 1, #keys do
  local k = keys[i]
  local v = ''
  if k == ARGV[3] or string.sub(k, plen + 1, plen + 1) ~= '_' then
    v = redis.pcall('GET', k)
    if type(v) == 'table' then v = '' end
  end
  out[#out + 1] = k
  out[#out + 1] = v
end
return out
"""

# KEYS: meta, audit stream, events, index top, value puts..., value deletes..., index puts...,
#       index deletes...
# ARGV: has_expect, expect, meta, audit entry, event, n_puts, n_deletes, has_index, index top,
#       n_index_puts, value put values..., index put values...
# Redis keeps the writes a script made before a command in it failed (no rollback), so every
# check that could fail a later command runs before the first write: the fence, and the types of
# the audit and event keys (XADD on a key that is not a stream would fail after the values).
_COMMIT = """
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return redis.error_reply('QVFENCE _meta changed') end
elseif cur then
  return redis.error_reply('QVFENCE _meta appeared')
end
for i = 2, 3 do
  local t = redis.call('TYPE', KEYS[i])['ok']
  if t ~= 'none' and t ~= 'stream' then
    return redis.error_reply('QVTYPE ' .. KEYS[i] .. ' holds a ' .. t .. ', not a stream')
  end
end
local np, nd, nip = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[10])
for i = 1, np do redis.call('SET', KEYS[4 + i], ARGV[10 + i]) end
for i = 1, nd do redis.call('DEL', KEYS[4 + np + i]) end
for i = 1, nip do redis.call('SET', KEYS[4 + np + nd + i], ARGV[10 + np + i]) end
for i = 5 + np + nd + nip, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('SET', KEYS[1], ARGV[3])
if ARGV[8] == '1' then redis.call('SET', KEYS[4], ARGV[9]) else redis.call('DEL', KEYS[4]) end
local id = redis.call('XADD', KEYS[2], '*', 'entry', ARGV[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '1000', '*', 'event', ARGV[5])
redis.call('PUBLISH', KEYS[3], ARGV[5])
return id
"""

# Compare-and-renew / compare-and-delete: only the holder may extend or drop its lease.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _tls_options(url: StoreUrl) -> dict[str, Any]:
    """redis-py's TLS arguments (it takes file paths, not an SSLContext)."""
    if url.scheme != "rediss":
        return {}
    tls_context(url.tls)  # a bad PEM file is a UsageError naming it, as with etcds
    files = url.tls
    return {
        "ssl": True,
        "ssl_ca_certs": str(files.cacert) if files.cacert else None,
        "ssl_certfile": str(files.cert) if files.cert else None,
        "ssl_keyfile": str(files.key) if files.key else None,
    }


class RedisStore:
    def __init__(self, url: StoreUrl) -> None:
        import redis as redis_lib

        self.url = url
        self._redis = redis_lib
        self._client = redis_lib.Redis(
            host=url.host,
            port=url.port,
            db=url.db,
            password=url.password,
            socket_connect_timeout=3,
            socket_timeout=60,
            **_tls_options(url),
        )
        self._first_ping()
        self._read = self._client.register_script(_READ)
        self._commit = self._client.register_script(_COMMIT)
        self._renew = self._client.register_script(_RENEW)
        self._release = self._client.register_script(_RELEASE)

    def _where(self) -> str:
        return f"Redis at {self.url.host}:{self.url.port}"

    def _first_ping(self) -> None:
        """Check the connection. redis-py retries a failed connect, nested (up to 12 handshakes,
        36 s when each one times out), but a TLS failure repeats on every try: a rediss URL is
        tried once first, and only a failure that is not TLS gets the retries."""
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        retry = self._client.get_retry()
        if self.url.scheme == "rediss" and retry is not None:
            self._client.set_retry(Retry(NoBackoff(), 0))
            try:
                self._client.ping()
                return
            except self._redis.RedisError as err:
                tls = tls_failure(self._where(), self.url.host, err, handshake=True)
                if tls is not None:
                    raise tls from None
            finally:
                self._client.set_retry(retry)
        self._call(self._client.ping)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call; map connection and credential failures to one actionable line."""
        r, where = self._redis, self._where()
        try:
            return fn(*args, **kwargs)
        except r.AuthenticationError as err:
            raise StoreError(
                f"{where} refused the credentials: {err}",
                hint="check the password in the store URL redis://:PASSWORD@host:port/db",
            ) from None
        except (r.ConnectionError, r.TimeoutError) as err:
            raise tls_failure(where, self.url.host, err) or StoreError(
                f"cannot reach {where}: {err}",
                hint="check that redis-server runs there and the host and port of the store URL",
            ) from None
        except r.ResponseError as err:
            if str(err).startswith("QVFENCE"):
                raise FenceConflict(f"{where}: {err}") from None
            if str(err).startswith("QVTYPE"):
                key = str(err).split()[1]
                raise StoreError(
                    f"{where}: nothing was written: {str(err).removeprefix('QVTYPE ')}",
                    hint=f"qv keeps its audit log and change events there: move the value away"
                    f" (redis-cli RENAME) or delete it (redis-cli DEL {key}), then apply again",
                ) from None
            raise StoreError(
                f"{where} refused the command: {err}",
                hint="check the server's log and memory limits",
            ) from None

    def read(self, env: str) -> StoreState:
        base = layout.env_prefix(self.url.prefix, env)
        meta_key = layout.meta_key(self.url.prefix, env)
        flat: list[bytes] = self._call(
            self._read, args=[_glob_escape(base) + "*", len(base), meta_key]
        )
        cut = len(self.url.prefix) + 1
        meta: bytes | None = None
        values: dict[str, bytes] = {}
        for i in range(0, len(flat), 2):
            key = layout.key_text(flat[i])
            if key == meta_key:
                meta = flat[i + 1]
            elif not layout.is_own_key(key[cut:]):  # a value, or a key qv did not write
                values[key[cut:]] = flat[i + 1]
        return StoreState(meta_raw=meta, token=meta, values=values)

    def read_values(self, env: str, keys: list[str]) -> StoreState:
        p, meta_key = self.url.prefix, layout.meta_key(self.url.prefix, env)
        found: Any = self._call(self._client.mget, [meta_key, *(f"{p}/{k}" for k in keys)])
        meta, raws = found[0], found[1:]  # MGET is atomic: one snapshot of every key
        values = {k: v for k, v in zip(keys, raws, strict=True) if v is not None}
        return StoreState(meta_raw=meta, token=meta, values=values)

    def read_index(self, env: str) -> IndexState:
        meta_key = layout.meta_key(self.url.prefix, env)
        found: Any = self._call(
            self._client.mget, [meta_key, layout.index_key(self.url.prefix, env)]
        )
        meta, index = found  # MGET is atomic: one snapshot of both keys
        return IndexState(meta_raw=meta, token=meta, index_raw=index)

    def _keys(self, env: str) -> tuple[str, str, str, str]:
        base = f"{self.url.prefix}/{env}/"
        return base + layout.META, base + layout.AUDIT, base + layout.EVENTS, base + layout.INDEX

    def read_index_shards(self, env: str, shards: list[str]) -> dict[str, bytes | None]:
        keys = [layout.index_shard_key(self.url.prefix, env, s) for s in shards]
        found: Any = self._call(self._client.mget, keys)
        return dict(zip(shards, found, strict=True))

    def commit(self, env: str, change: Commit) -> None:
        p = self.url.prefix
        plan, index = change.plan, change.index
        shards = index.shards if index is not None else {}
        idx_puts = {layout.index_shard_key(p, env, s): v for s, v in shards.items() if v}
        idx_dels = [layout.index_shard_key(p, env, s) for s, v in shards.items() if v is None]
        keys = [
            *self._keys(env),
            *(f"{p}/{k}" for k in plan.puts),
            *(layout.key_bytes(f"{p}/{k}") for k in plan.deletes),  # a key not UTF-8 too
            *idx_puts,
            *idx_dels,
        ]
        expect = change.expect
        assert expect is None or isinstance(expect, bytes)
        args: list[Any] = [
            "1" if expect is not None else "0",
            expect or b"",
            change.meta,
            layout.encode_audit(change.audit),
            change.event,
            len(plan.puts),
            len(plan.deletes),
            "1" if index is not None else "0",
            index.top if index is not None else b"",
            len(idx_puts),
            *plan.puts.values(),
            *idx_puts.values(),
        ]
        self._call(self._commit, keys=keys, args=args)

    def append_audit(self, env: str, entry: AuditEntry) -> None:
        self._call(self._client.xadd, self._keys(env)[1], {"entry": layout.encode_audit(entry)})

    def audit(self, env: str, limit: int | None = None) -> list[AuditEntry]:
        found: Any = self._call(self._client.xrevrange, self._keys(env)[1], "+", "-", count=limit)
        rows: list[tuple[bytes, dict[bytes, bytes]]] = found or []
        return [
            layout.decode_audit(fields.get(b"entry", b"{}"), sid.decode()) for sid, fields in rows
        ]

    def repair_hint(self, env: str) -> str:
        return (
            f"inspect it with `redis-cli -h {self.url.host} -p {self.url.port} -n {self.url.db}"
            f" GET {layout.meta_key(self.url.prefix, env)}`"
        )

    def acquire_lease(self, env: str, holder: str, ttl: float) -> bool:
        key = layout.lease_key(self.url.prefix, env)
        ms = max(1, int(ttl * 1000))
        if self._call(self._client.set, key, holder, nx=True, px=ms):
            return True
        return self.renew_lease(env, holder, ttl)

    def renew_lease(self, env: str, holder: str, ttl: float) -> bool:
        key = layout.lease_key(self.url.prefix, env)
        ms = max(1, int(ttl * 1000))
        return bool(self._call(self._renew, keys=[key], args=[holder, ms]))

    def release_lease(self, env: str, holder: str) -> None:
        self._call(self._release, keys=[layout.lease_key(self.url.prefix, env)], args=[holder])

    def change_position(self, env: str) -> str:
        found: Any = self._call(self._client.xrevrange, self._keys(env)[2], "+", "-", count=1)
        return found[0][0].decode() if found else "0-0"

    def changes(self, env: str, since: str, idle: float) -> Iterator[str]:
        """The ``_events`` stream (XREAD BLOCK), not the channel: a stream resumes from a
        position after a reconnect, where pub/sub drops what was said while away."""
        key = self._keys(env)[2]
        deadline = time.monotonic() + idle
        while (left := deadline - time.monotonic()) > 0:
            block = max(1, min(_BLOCK_MS, int(left * 1000)))
            found: Any = self._call(self._client.xread, {key: since}, count=100, block=block)
            for _, entries in found or []:
                if entries:
                    since = entries[-1][0].decode()
                    yield since

    def close(self) -> None:
        self._client.close()

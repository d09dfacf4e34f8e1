"""etcd store through the v3 JSON gateway (httpx): keys and values are base64 in the requests.

A read is one read-only Txn (one revision, so one consistent snapshot); an apply is one Txn that
compares ``_meta``'s mod_revision (the fence) and the next audit key's absence. Change events are
etcd's own watch on ``P/{env}/``. The audit log is ``P/{env}/_audit/<12-digit sequence>``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from qv_config.store import layout
from qv_config.store.errors import FenceConflict, StoreError, TooLargeError
from qv_config.store.etcdwatch import WatchEvent, applies, stream
from qv_config.store.types import AuditEntry, Commit, IndexState, StoreState
from qv_config.store.url import StoreUrl, tls_context, tls_failure

_SEQ_DIGITS = 12


def _b64(data: str | bytes) -> str:
    raw = layout.key_bytes(data) if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _range(key: str, end: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"key": _b64(key), **extra}
    if end is not None:
        body["range_end"] = _b64(end)
    return {"request_range": body}


class EtcdStore:
    def __init__(self, url: StoreUrl) -> None:
        import httpx

        self.url = url
        self._httpx = httpx
        secure = url.scheme == "etcds"
        # One SSLContext as ``verify=``: httpx 0.28 deprecates ``verify=PATH`` and ``cert=``.
        self._client = httpx.Client(
            base_url=f"{'https' if secure else 'http'}://{url.host}:{url.port}",
            timeout=httpx.Timeout(120, connect=3),
            verify=tls_context(url.tls) if secure else True,
        )
        self._post("/v3/maintenance/status", {})
        self._lease_ids: dict[tuple[str, str], str] = {}  # (env, holder) -> etcd lease id
        self.read_revision = 0  # etcd revision of the last read(): a watch starts after it

    def _where(self) -> str:
        return f"etcd at {self.url.host}:{self.url.port}"

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
        except self._httpx.TransportError as err:
            raise self._unreachable(err) from None
        if response.status_code != 200:
            raise self._server_error(response.text)
        result: dict[str, Any] = response.json()
        return result

    def _unreachable(self, err: Exception) -> StoreError:
        opening_tls = self.url.scheme == "etcds" and isinstance(err, self._httpx.ConnectError)
        tls = tls_failure(self._where(), self.url.host, err, handshake=opening_tls)
        if tls is not None:
            return tls
        hint = (
            "check that etcd runs there (--listen-client-urls) and the host and port of the store"
            " URL"
        )
        hung_up = (self._httpx.RemoteProtocolError, self._httpx.ReadError)
        if self.url.scheme == "etcd" and isinstance(err, hung_up):
            # An etcd serving TLS with client certificates hangs up on plain HTTP without a word.
            hint += "; if this etcd serves TLS, use an etcds:// store URL"
        return StoreError(f"cannot reach {self._where()}: {err or type(err).__name__}", hint=hint)

    def _server_error(self, text: str) -> StoreError:
        low = text.lower()
        if "too many operations in txn request" in low:
            return TooLargeError(
                f"{self._where()} refused the change whole: too many operations for one"
                " transaction",
                hint="qv never splits an apply; restart etcd with a larger --max-txn-ops"
                " (default 128) of at least the number of changed keys + 35 (metadata, audit and"
                " hash index)",
            )
        if "request is too large" in low or "larger than max" in low:
            return TooLargeError(
                f"{self._where()} refused the change whole: the transaction is larger than"
                " its limit",
                hint="qv never splits an apply; restart etcd with a larger --max-request-bytes"
                " (default 1.5 MiB)",
            )
        if "authentication" in low or "permission denied" in low or "user name" in low:
            return StoreError(
                f"{self._where()} refused the credentials: {text.strip()}",
                hint="check the etcd user and role of this client",
            )
        return StoreError(
            f"{self._where()} refused the request: {text.strip()[:300]}",
            hint="check the etcd server log",
        )

    def _txn(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._post("/v3/kv/txn", body)

    def read(self, env: str) -> StoreState:
        base = layout.env_prefix(self.url.prefix, env)
        meta_key = layout.meta_key(self.url.prefix, env)
        # Value keys never start with "_" (reserved); "`" is the byte after "_". Keys that do
        # are read by name only, except the audit log's entries (``_audit/<seq>``, "0" is the
        # byte after "/"), which grow with every apply: any other is qv's or written by hand.
        ops = [
            _range(base, base + "_"),
            _range(base + "`", base[:-1] + "0"),
            _range(meta_key),
            _range(base + "_", base + "_audit/", keys_only=True),
            _range(base + "_audit0", base + "`", keys_only=True),
        ]
        result = self._txn({"success": ops})
        self.read_revision = int(result.get("header", {}).get("revision", 0))
        cut = len(self.url.prefix) + 1
        values: dict[str, bytes] = {}
        meta: bytes | None = None
        token = 0
        for i, response in enumerate(result.get("responses", [])):
            for kv in response.get("response_range", {}).get("kvs", []):
                key = layout.key_text(_unb64(kv["key"]))
                if i == 2:
                    meta, token = _unb64(kv.get("value", "")), int(kv.get("mod_revision", 0))
                elif not layout.is_own_key(key[cut:]):  # a value, or a key qv did not write
                    values[key[cut:]] = _unb64(kv.get("value", ""))
        return StoreState(meta_raw=meta, token=token, values=values)

    def read_values(self, env: str, keys: list[str]) -> StoreState:
        """Txns of at most 100 ranges (etcd's --max-txn-ops is 128 by default), every one
        after the first pinned to the first one's revision: one snapshot."""
        p, meta_key = self.url.prefix, layout.meta_key(self.url.prefix, env)
        wanted = [meta_key, *(f"{p}/{k}" for k in keys)]
        pinned: dict[str, Any] = {}
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(wanted), 100):
            result = self._txn({"success": [_range(k, **pinned) for k in wanted[i : i + 100]]})
            pinned = pinned or {"revision": int(result.get("header", {}).get("revision", 0))}
            for response in result.get("responses", []):
                for kv in response.get("response_range", {}).get("kvs", []):
                    found[layout.key_text(_unb64(kv["key"]))] = kv
        meta_kv = found.pop(meta_key, None)
        meta = _unb64(meta_kv.get("value", "")) if meta_kv else None
        token = int(meta_kv.get("mod_revision", 0)) if meta_kv else 0
        values = {k[len(p) + 1 :]: _unb64(kv.get("value", "")) for k, kv in found.items()}
        return StoreState(meta_raw=meta, token=token, values=values)

    def read_index(self, env: str) -> IndexState:
        meta_key = layout.meta_key(self.url.prefix, env)
        ops = [_range(meta_key), _range(layout.index_key(self.url.prefix, env))]
        result = self._txn({"success": ops})  # one Txn: one revision for both keys
        found: list[dict[str, Any] | None] = []
        for response in result.get("responses", []):
            kvs = response.get("response_range", {}).get("kvs", [])
            found.append(kvs[0] if kvs else None)
        meta_kv, index_kv = [*found, None, None][:2]
        meta = _unb64(meta_kv.get("value", "")) if meta_kv else None
        token = int(meta_kv.get("mod_revision", 0)) if meta_kv else 0
        index = _unb64(index_kv.get("value", "")) if index_kv else None
        return IndexState(meta_raw=meta, token=token, index_raw=index)

    def _audit_base(self, env: str) -> str:
        return f"{self.url.prefix}/{env}/{layout.AUDIT}/"

    def _next_audit_key(self, env: str) -> str:
        base = self._audit_base(env)
        result = self._post(
            "/v3/kv/range",
            {
                "key": _b64(base),
                "range_end": _b64(base[:-1] + "0"),
                "limit": 1,
                "sort_order": "DESCEND",
                "sort_target": "KEY",
                "keys_only": True,
            },
        )
        kvs = result.get("kvs", [])
        last = int(_unb64(kvs[0]["key"]).decode()[len(base) :]) if kvs else 0
        return f"{base}{last + 1:0{_SEQ_DIGITS}d}"

    def commit(self, env: str, change: Commit) -> None:
        p = self.url.prefix
        audit_key = self._next_audit_key(env)
        meta_key = layout.meta_key(p, env)
        compare = [
            {
                "key": _b64(meta_key),
                "target": "MOD",
                "result": "EQUAL",
                "mod_revision": str(change.expect or 0),
            },
            {"key": _b64(audit_key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"},
        ]
        ops: list[dict[str, Any]] = [
            {"request_put": {"key": _b64(f"{p}/{k}"), "value": _b64(v)}}
            for k, v in change.plan.puts.items()
        ]
        ops += [{"request_delete_range": {"key": _b64(f"{p}/{k}")}} for k in change.plan.deletes]
        ops += self._index_ops(env, change)
        ops.append({"request_put": {"key": _b64(meta_key), "value": _b64(change.meta)}})
        ops.append(
            {
                "request_put": {
                    "key": _b64(audit_key),
                    "value": _b64(layout.encode_audit(change.audit)),
                }
            }
        )
        result = self._txn({"compare": compare, "success": ops})
        if not result.get("succeeded", False):
            raise FenceConflict(f"{meta_key} or {audit_key} changed while planning")

    def _index_ops(self, env: str, change: Commit) -> list[dict[str, Any]]:
        p, index = self.url.prefix, change.index
        top = _b64(layout.index_key(p, env))
        if index is None:
            return [{"request_delete_range": {"key": top}}]
        ops: list[dict[str, Any]] = [{"request_put": {"key": top, "value": _b64(index.top)}}]
        for shard, raw in index.shards.items():
            key = _b64(layout.index_shard_key(p, env, shard))
            if raw is None:
                ops.append({"request_delete_range": {"key": key}})
            else:
                ops.append({"request_put": {"key": key, "value": _b64(raw)}})
        return ops

    def read_index_shards(self, env: str, shards: list[str]) -> dict[str, bytes | None]:
        # One read-only Txn with one range per shard (at most index.SHARDS = 32 operations).
        keys = [layout.index_shard_key(self.url.prefix, env, s) for s in shards]
        result = self._txn({"success": [_range(k) for k in keys]})
        found: dict[str, bytes | None] = dict.fromkeys(shards)
        for shard, response in zip(shards, result.get("responses", []), strict=False):
            kvs = response.get("response_range", {}).get("kvs", [])
            if kvs:
                found[shard] = _unb64(kvs[0].get("value", ""))
        return found

    def append_audit(self, env: str, entry: AuditEntry) -> None:
        for _ in range(10):  # a concurrent writer may take the same sequence: take the next one
            key = self._next_audit_key(env)
            result = self._txn(
                {
                    "compare": [
                        {
                            "key": _b64(key),
                            "target": "CREATE",
                            "result": "EQUAL",
                            "create_revision": "0",
                        }
                    ],
                    "success": [
                        {
                            "request_put": {
                                "key": _b64(key),
                                "value": _b64(layout.encode_audit(entry)),
                            }
                        }
                    ],
                }
            )
            if result.get("succeeded", False):
                return
        raise StoreError(
            f"{self._where()}: could not append to the audit log under contention",
            hint="run the command again",
        )

    def audit(self, env: str, limit: int | None = None) -> list[AuditEntry]:
        base = self._audit_base(env)
        body: dict[str, Any] = {
            "key": _b64(base),
            "range_end": _b64(base[:-1] + "0"),
            "sort_order": "DESCEND",
            "sort_target": "KEY",
        }
        if limit:
            body["limit"] = limit
        kvs = self._post("/v3/kv/range", body).get("kvs", [])
        return [
            layout.decode_audit(
                _unb64(kv.get("value", "")),
                str(int(layout.key_text(_unb64(kv["key"]))[len(base) :])),
            )
            for kv in kvs
        ]

    def repair_hint(self, env: str) -> str:
        return (
            f"inspect it with `ETCDCTL_API=3 etcdctl --endpoints={self.url.host}:{self.url.port}"
            f" get {layout.meta_key(self.url.prefix, env)}`"
        )

    def acquire_lease(self, env: str, holder: str, ttl: float) -> bool:
        """An etcd lease (grant) and a put-if-absent of ``_lease`` bound to it, in one Txn."""
        if (env, holder) in self._lease_ids and self.renew_lease(env, holder, ttl):
            return True
        granted = self._post("/v3/lease/grant", {"TTL": str(max(2, round(ttl)))})
        lease_id = str(granted["ID"])
        key = _b64(layout.lease_key(self.url.prefix, env))
        result = self._txn(
            {
                "compare": [
                    {"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
                ],
                "success": [
                    {"request_put": {"key": key, "value": _b64(holder), "lease": lease_id}}
                ],
                "failure": [{"request_range": {"key": key}}],
            }
        )
        if result.get("succeeded", False):
            self._lease_ids[env, holder] = lease_id
            return True
        self._post("/v3/lease/revoke", {"ID": lease_id})
        return self._adopt(env, holder, ttl, result)

    def _adopt(self, env: str, holder: str, ttl: float, failed: dict[str, Any]) -> bool:
        """Whether the lease key is this holder's already, bound to a lease this connection does
        not know (another connection of the same agent, or one lost in an etcd outage): that
        lease is kept alive, where waiting for it to expire would stop the agent for a TTL."""
        responses = failed.get("responses") or [{}]
        kvs = responses[0].get("response_range", {}).get("kvs", [])
        if not kvs or _unb64(kvs[0].get("value", "")) != holder.encode():
            return False
        lease_id = kvs[0].get("lease")
        if not lease_id or lease_id == "0":
            return False
        self._lease_ids[env, holder] = str(lease_id)
        return self.renew_lease(env, holder, ttl)

    def renew_lease(self, env: str, holder: str, ttl: float) -> bool:
        lease_id = self._lease_ids.get((env, holder))
        if lease_id is None:
            return False
        alive = self._post("/v3/lease/keepalive", {"ID": lease_id})
        if int(alive.get("result", alive).get("TTL", 0) or 0) <= 0:
            self._lease_ids.pop((env, holder), None)
            return False
        kvs = self._post("/v3/kv/range", {"key": _b64(layout.lease_key(self.url.prefix, env))}).get(
            "kvs", []
        )
        held = bool(kvs) and _unb64(kvs[0].get("value", "")) == holder.encode()
        if not held:
            self._lease_ids.pop((env, holder), None)
        return held

    def release_lease(self, env: str, holder: str) -> None:
        # Revoking the lease deletes the key attached to it, atomically, in etcd itself.
        lease_id = self._lease_ids.pop((env, holder), None)
        if lease_id is not None:
            self._post("/v3/lease/revoke", {"ID": lease_id})

    def close(self) -> None:
        self._client.close()

    # ---- watch (SPEC §6: etcd's change events are its native watch) ------------------------

    def watch(self, env: str, start: int, idle: float) -> Iterator[list[WatchEvent]]:
        """Stream the changes under ``P/{env}/`` from revision ``start`` (etcdwatch.stream)."""
        return stream(self, env, start, idle)

    def change_position(self, env: str) -> str:
        """The revision after etcd's current one: a watch from it sees every later apply."""
        body = {"key": _b64(layout.meta_key(self.url.prefix, env)), "keys_only": True}
        header = self._post("/v3/kv/range", body).get("header", {})
        return str(int(header.get("revision", 0)) + 1)

    def changes(self, env: str, since: str, idle: float) -> Iterator[str]:
        """The watch on ``P/{env}/``; one position per response that wrote ``_meta``."""
        return applies(self.watch(env, int(since), idle), env, int(since))

    def compacted_after(self, revision: int) -> bool:
        """True when etcd's history no longer holds ``revision`` (a watch from it would fail)."""
        body = {"key": _b64(layout.meta_key(self.url.prefix, "_")), "revision": revision}
        try:
            response = self._client.post("/v3/kv/range", json=body)
        except self._httpx.TransportError as err:
            raise self._unreachable(err) from None
        return response.status_code != 200 and "compacted" in response.text

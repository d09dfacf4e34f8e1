"""etcd store through the v3 JSON gateway (httpx): keys and values are base64 in the requests.

A read is one read-only Txn (one revision, so one consistent snapshot); an apply is one Txn that
compares ``_meta``'s mod_revision (the fence) and the next audit key's absence. Change events are
etcd's own watch on ``P/{env}/``. The audit log is ``P/{env}/_audit/<12-digit sequence>``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from qv_config.store import layout
from qv_config.store.errors import FenceConflict, StoreError, TooLargeError
from qv_config.store.types import AuditEntry, Commit, StoreState
from qv_config.store.url import StoreUrl

if TYPE_CHECKING:
    pass

_SEQ_DIGITS = 12


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
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
        scheme = "https" if url.scheme == "etcds" else "http"
        self._client = httpx.Client(
            base_url=f"{scheme}://{url.host}:{url.port}", timeout=httpx.Timeout(120, connect=3)
        )
        self._post("/v3/maintenance/status", {})

    def _where(self) -> str:
        return f"etcd at {self.url.host}:{self.url.port}"

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._client.post(path, json=body)
        except self._httpx.TransportError as err:
            raise StoreError(
                f"cannot reach {self._where()}: {err or type(err).__name__}",
                hint="check that etcd runs there (--listen-client-urls) and the host and port"
                " of the store URL",
            ) from None
        if response.status_code != 200:
            raise self._server_error(response.text)
        result: dict[str, Any] = response.json()
        return result

    def _server_error(self, text: str) -> StoreError:
        low = text.lower()
        if "too many operations in txn request" in low:
            return TooLargeError(
                f"{self._where()} refused the change whole: too many operations for one"
                " transaction",
                hint="qv never splits an apply; restart etcd with a larger --max-txn-ops"
                " (default 128) of at least the number of changed keys + 2",
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
        # Value keys never start with "_" (reserved); "`" is the byte after "_".
        ops = [_range(base, base + "_"), _range(base + "`", base[:-1] + "0"), _range(meta_key)]
        result = self._txn({"success": ops})
        cut = len(self.url.prefix) + 1
        values: dict[str, bytes] = {}
        meta: bytes | None = None
        token = 0
        for i, response in enumerate(result.get("responses", [])):
            for kv in response.get("response_range", {}).get("kvs", []):
                key = _unb64(kv["key"]).decode()
                if i == 2:
                    meta, token = _unb64(kv.get("value", "")), int(kv.get("mod_revision", 0))
                elif layout.is_value_key(key[cut:]):
                    values[key[cut:]] = _unb64(kv.get("value", ""))
        return StoreState(meta_raw=meta, token=token, values=values)

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
                _unb64(kv.get("value", "")), str(int(_unb64(kv["key"]).decode()[len(base) :]))
            )
            for kv in kvs
        ]

    def repair_hint(self, env: str) -> str:
        return (
            f"inspect it with `ETCDCTL_API=3 etcdctl --endpoints={self.url.host}:{self.url.port}"
            f" get {layout.meta_key(self.url.prefix, env)}`"
        )

    def close(self) -> None:
        self._client.close()

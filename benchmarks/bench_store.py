"""Benchmark the stores: first sync of 10,000 keys, a one-key change, drift of 10,000 keys.

Run: .venv/bin/python benchmarks/bench_store.py   (starts redis-server and etcd on free ports;
etcd with --max-txn-ops 20000 and --max-request-bytes 64 MiB so one 10,000-key Txn fits).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from qv_config.store import DesiredState, apply_desired, compute_drift, open_store
from qv_config.store.apply import read_meta
from qv_config.store.layout import digest_of, full_hashes

N = 10_000


def port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def desired(rev: str, change: int | None = None) -> DesiredState:
    vals = {
        f"prod/config/svc-{i:05d}": json.dumps(
            {"i": i, "limits": {"notional": 1000 + (1 if i == change else 0)}, "pad": "p" * 400},
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        for i in range(N)
    }
    # As render_desired does: the per-value sha256 computed for the digest travel with the state.
    hashes = full_hashes(vals)
    return DesiredState("prod", rev, digest_of(hashes), vals, hashes)


def wait(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.post(url, json={"key": "eA=="}, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)


def servers(tmp: Path) -> tuple[list[subprocess.Popen[bytes]], dict[str, str]]:
    rp, ep, pp = port(), port(), port()
    procs = [
        subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(rp),
                "--dir",
                str(tmp),
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
        )
    ]
    peer = f"http://127.0.0.1:{pp}"
    procs.append(
        subprocess.Popen(
            [
                "etcd",
                "--data-dir",
                str(tmp / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{ep}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{ep}",
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"default={peer}",
                "--max-txn-ops",
                "20000",
                "--max-request-bytes",
                str(64 << 20),
                "--log-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    time.sleep(0.5)
    wait(f"http://127.0.0.1:{ep}/v3/kv/range")
    return procs, {
        "sqlite": f"sqlite:{tmp}/state.db",
        "redis": f"redis://127.0.0.1:{rp}/0",
        "etcd": f"etcd://127.0.0.1:{ep}",
    }


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, url: str, tmp: Path) -> None:
    store = open_store(url, tmp)
    first, second = desired("r1"), desired("r2", change=7)
    kw = {"is_descendant": lambda a, b: True, "applied_by": "bench"}
    t_first = timed(lambda: apply_desired(store, first, **kw))
    t_one = timed(lambda: apply_desired(store, second, **kw))

    def drift() -> None:
        state = store.read("prod")
        meta = read_meta(store, "prod", state.meta_raw)
        compute_drift("prod", meta, state.values, second.values, "r2", second.digest, second.values)

    t_drift = timed(drift)
    print(
        f"{name:<7} first sync {N} keys: {t_first:6.3f} s   one-key change: "
        f"{t_one * 1000:6.1f} ms   drift {N} keys: {t_drift:6.3f} s"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        procs, urls = servers(tmp)
        try:
            for name, url in urls.items():
                bench(name, url, tmp)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()

"""Benchmark ConfigClient: ``get`` and ``is_enabled`` latency (p50/p99 of single calls) and the
propagation of an apply to a subscribed client on SQLite, Redis and etcd.

Run: .venv/bin/python benchmarks/bench_client.py [--docs 1000] [--calls 200000] [--applies 50]
[--change every|one]
(starts redis-server and etcd on free ports, as bench_store.py does).

Propagation is measured from the moment the apply returns (``apply_desired``, what `qv sync`
calls, has committed) to the moment the client's subscriber is called with the new revision;
an update that arrives before the apply returned counts as 0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_store import servers

from qv_config.client import ConfigClient, Update
from qv_config.render.desired import digest
from qv_config.store import DesiredState, apply_desired, open_store

ENV = "prod"
ROLLOUT_FLAG = "pre-trade-risk-v2"


def _doc(kind: str, slug: str, name: str, spec: dict[str, Any]) -> tuple[str, bytes]:
    doc = {"apiVersion": "qv/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}
    return f"{ENV}/{slug}/{name}", orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def state(docs: int, tag: int, every: bool = True) -> dict[str, bytes]:
    """``docs`` Config documents and one flexibleRollout flag with two constraints; ``tag``
    changes every document (``every``) or only the first."""
    values = dict(
        _doc(
            "Config",
            "config",
            f"svc-{i:05d}",
            {"limits": {"notional": 1000 + i}, "tag": tag if every or i == 0 else 0},
        )
        for i in range(docs)
    )
    rollout = {
        "name": "flexibleRollout",
        "parameters": {"rollout": "40", "stickiness": "userId", "groupId": ROLLOUT_FLAG},
        "constraints": [
            {"contextName": "desk", "operator": "IN", "values": ["eu-eq", "us-eq"]},
            {"contextName": "orderNotional", "operator": "NUM_LT", "value": "5000000"},
        ],
    }
    spec = {"type": "release", "enabled": True, "strategies": [rollout]}
    values.update([_doc("Flag", "flag", ROLLOUT_FLAG, spec)])
    return values


def apply(url: str, root: Path, values: dict[str, bytes], n: int) -> None:
    store = open_store(url, root)
    try:
        desired = DesiredState(ENV, f"{n:040x}", digest(values), values)
        apply_desired(store, desired, is_descendant=lambda _a, _b: True, applied_by="bench")
    finally:
        store.close()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def call_latency(client: ConfigClient, docs: int, calls: int) -> None:
    rng = random.Random(0)
    names = [f"svc-{rng.randrange(docs):05d}" for _ in range(calls)]
    contexts = [
        {
            "userId": f"u{rng.randrange(10**6)}",
            "properties": {"desk": "eu-eq", "orderNotional": "1000"},
        }
        for _ in range(1000)
    ]
    clock, get, enabled = time.perf_counter_ns, client.get, client.is_enabled
    get_ns, flag_ns = [], []
    for i, name in enumerate(names):
        start = clock()
        get("Config", name)
        get_ns.append(clock() - start)
        context = contexts[i % 1000]
        start = clock()
        enabled(ROLLOUT_FLAG, context)
        flag_ns.append(clock() - start)
    for what, samples in (("get", get_ns), ("is_enabled", flag_ns)):
        p50, p99 = percentiles([s / 1000 for s in samples])
        print(f"ConfigClient.{what}: p50 {p50:.2f} µs, p99 {p99:.2f} µs ({calls} calls)")


def propagation(name: str, url: str, root: Path, docs: int, applies: int, every: bool) -> None:
    apply(url, root, state(docs, 0, every), 1)
    arrived: dict[str, float] = {}
    got = threading.Condition()

    def on_update(update: Update) -> None:
        if update.event == "updated":
            with got:
                arrived[update.revision] = time.perf_counter()
                got.notify_all()

    delays, pause = [], random.Random(1)
    with ConfigClient(url, ENV, root=root) as client:
        client.subscribe(on_update)
        for n in range(2, applies + 2):
            revision = f"{n:040x}"
            apply(url, root, state(docs, n, every), n)
            done = time.perf_counter()
            with got:
                got.wait_for(lambda r=revision: r in arrived, timeout=10)  # type: ignore[misc]
            delays.append(max(0.0, arrived.get(revision, float("inf")) - done) * 1000)
            time.sleep(pause.uniform(0.02, 0.08))  # no fixed period to alias with a poll
    p50, p99 = percentiles(delays)
    print(
        f"propagation {name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(delays):.1f} ms"
        f" ({applies} applies of {docs + 1} documents, {'every one' if every else 'one'}"
        " changed)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--applies", type=int, default=50)
    parser.add_argument("--change", choices=["every", "one"], default="every")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        procs, urls = servers(tmp)
        try:
            for name, url in urls.items():
                propagation(name, url, tmp, args.docs, args.applies, args.change == "every")
            with ConfigClient(urls["sqlite"], ENV, root=tmp) as client:
                call_latency(client, args.docs, args.calls)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()


if __name__ == "__main__":
    main()

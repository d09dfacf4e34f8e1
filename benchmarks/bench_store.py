"""Benchmark the stores: first sync of 10,000 keys, a one-key change, drift of 10,000 keys.

Run: .venv/bin/python benchmarks/bench_store.py   (starts redis-server and etcd on free ports;
etcd with --max-txn-ops 20000 and --max-request-bytes 64 MiB so one 10,000-key Txn fits).

``--drift-e2e [--repo PATH] [--rounds N]``: `qv drift --env prod` end to end (a `qv` process) on
a local clone of the generated 10,000-document repository (benchmarks/out/repo-10000-s0-git), with
the SQLite store outside `.qv/`: first run on an empty `.qv/` (rm -rf .qv before it), repeated
run, and a first run with one pending commit (the tip must be rendered).
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from qv_config.store import DesiredState, apply_desired, compute_drift, open_store
from qv_config.store.apply import read_meta
from qv_config.store.layout import digest_of, full_hashes

N = 10_000
OUT = Path(__file__).resolve().parent / "out"


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
    kw: dict[str, Any] = {"is_descendant": lambda a, b: True, "applied_by": "bench"}
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


def run_qv(repo: Path, *args: str) -> float:
    """Wall seconds of one ``qv`` process (exit 0 or 1 = drift found; anything else fails)."""
    qv = str(Path(sys.executable).parent / "qv")
    start = time.perf_counter()
    proc = subprocess.run([qv, "-C", str(repo), *args], check=False, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"qv {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return took


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f} s (median {statistics.median(values):.2f})"


def drift_e2e(source: Path, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        repo = tmp / "repo"
        subprocess.run(["git", "clone", "-q", str(source), str(repo)], check=True)
        for key, value in (("user.email", "bench@example.com"), ("user.name", "Bench")):
            subprocess.run(["git", "config", key, value], cwd=repo, check=True)
        store = ["--env", "prod", "--store", f"sqlite:{tmp}/state.db"]
        print(f"qv sync (cold, validates and renders): {run_qv(repo, 'sync', *store):.2f} s")
        _rounds(repo, store, rounds, "tip deployed")
        # A new commit that changes a prod input file (a comment: the tree id moves, so the tip
        # must be rendered; its digest stays equal).
        path = next((repo / "environments" / "prod").rglob("*.yaml"))
        with path.open("a") as out:
            out.write("# pending change\n")
        subprocess.run(["git", "commit", "-qam", "pending"], cwd=repo, check=True)
        _rounds(repo, store, rounds, "new tip")


def _rounds(repo: Path, store: list[str], rounds: int, case: str) -> None:
    first, again = [], []
    for _ in range(rounds):
        shutil.rmtree(repo / ".qv", ignore_errors=True)
        first.append(run_qv(repo, "drift", *store))
        again.append(run_qv(repo, "drift", *store))
    print(f"qv drift, {case}, first run on an empty .qv/: {_spread(first)}")
    print(f"qv drift, {case}, repeated:                   {_spread(again)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drift-e2e", action="store_true", help="qv drift end to end")
    parser.add_argument("--repo", type=Path, default=OUT / "repo-10000-s0-git")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.drift_e2e:
        drift_e2e(args.repo, args.rounds)
        return
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

"""Benchmark `qv serve` with wrk (Debian's `wrk`): 50 connections on one server process.

Run: .venv/bin/python benchmarks/bench_serve.py [--seconds 30] [--connections 50] [--threads 2]
[--memory-seconds 300]

The repository's own project is copied and synced to a SQLite store (dev); one `qv serve`
process (uvicorn with httptools and uvloop, access log on, written to a file) answers:
a 304 revalidation of one document (If-None-Match), a GET of that document, an OFREP
single-flag evaluation (POST with a context), each for ``--seconds``; then a mixed load for
``--memory-seconds`` while the server's RSS is sampled (flat: the last sample is within a few MB
of the first after warm-up). wrk runs on the same 2-core machine, so it takes a share of the CPU
the server would have; the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.flags.conftest import copy_project  # noqa: E402 (the repository's project)

QV = str(Path(sys.executable).with_name("qv"))
DOC = "/v1/dev/config/market-data"
FLAG = "/ofrep/v1/evaluate/flags/pre-trade-risk-v2"
CONTEXT = '{"context":{"targetingKey":"trader-7","desk":"eu-eq","instrumentId":"AAPL"}}'


def wrk(url: str, seconds: int, conns: int, threads: int, script: Path | None) -> dict[str, float]:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    assert p99 is not None, out
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale,
            "errors": float(non2xx.group(1)) if non2xx else 0.0}  # fmt: skip


def lua(tmp: Path, name: str, body: str) -> Path:
    path = tmp / name
    path.write_text(body)
    return path


def start(root: Path, url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [QV, "serve", "--env", "dev", "--store", url, "--port", str(port), *extra],
            cwd=root, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"qv serve did not start: {log.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-seconds", type=int, default=300)
    parser.add_argument("--no-access-log", action="store_true", help="serve without access log")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    root = copy_project(tmp / "repo")
    url = f"sqlite:{tmp / 'state.db'}"
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(ROOT / "keys" / "demo-dev.agekey")}
    subprocess.run([QV, "sync", "--env", "dev", "--store", url], cwd=root, env=env, check=True,
                   capture_output=True)  # fmt: skip
    port = 18000 + os.getpid() % 1000
    extra = ("--no-access-log",) if args.no_access_log else ()
    proc = start(root, url, port, tmp / "serve.log", *extra)
    base = f"http://127.0.0.1:{port}"
    etag = httpx.get(base + DOC).headers["etag"]
    revalidate = lua(tmp, "304.lua", f"wrk.headers['If-None-Match'] = '{etag}'\n")
    ofrep = lua(tmp, "ofrep.lua", "wrk.method = 'POST'\nwrk.headers['Content-Type'] = "
                f"'application/json'\nwrk.body = '{CONTEXT}'\n")  # fmt: skip
    server = psutil.Process(proc.pid)
    try:
        wrk(base + DOC, 3, args.connections, args.threads, None)  # warm-up
        rows = []
        for label, path, script, want in (
            ("304 revalidation", DOC, revalidate, 5000),
            ("GET one document", DOC, None, 5000),
            ("OFREP one flag", FLAG, ofrep, 3000),
        ):
            load = os.getloadavg()[0]
            got = wrk(base + path, args.seconds, args.connections, args.threads, script)
            rows.append((label, got, want, load))
        rss = memory(base, server, args, revalidate, ofrep)
    finally:
        proc.terminate()
        proc.wait(10)
    logs = "off" if args.no_access_log else "on (to a file)"
    print(f"qv serve (access log {logs}), {args.connections} connections, "
          f"{args.threads} wrk threads, {args.seconds} s each, {os.cpu_count()} CPUs shared"
          " with wrk")  # fmt: skip
    print("| load | requests/s | p99 | target | non-2xx/3xx | 1-min load avg |")
    print("|---|---|---|---|---|---|")
    for label, got, want, load in rows:
        print(f"| {label} | {got['rps']:,.0f} | {got['p99_ms']:.2f} ms | ≥ {want:,}/s, p99 ≤ 10 ms"
              f" | {got['errors']:.0f} | {load:.2f} |")  # fmt: skip
    print(f"memory (RSS) over {args.memory_seconds} s of mixed load: " + rss)


def memory(base: str, server: psutil.Process, args: argparse.Namespace, *scripts: Path) -> str:
    """RSS sampled between rounds of load (documents, 304s, OFREP) for ``--memory-seconds``."""
    samples = [server.memory_info().rss]
    deadline = time.monotonic() + args.memory_seconds
    i = 0
    while time.monotonic() < deadline:
        script = (None, *scripts)[i % 3]
        path = FLAG if script is not None and script.name == "ofrep.lua" else DOC
        wrk(base + path, 10, args.connections, args.threads, script)
        samples.append(server.memory_info().rss)
        i += 1
    mb = [s / 2**20 for s in samples]
    if len(mb) < 2:  # --memory-seconds 0: no mixed run
        return f"{mb[0]:.1f} MB (no mixed run)"
    return (f"{mb[0]:.1f} MB at start, {mb[1]:.1f} MB after the first round, {max(mb):.1f} MB peak,"
            f" {mb[-1]:.1f} MB at the end ({len(mb) - 1} rounds of 10 s)")  # fmt: skip


if __name__ == "__main__":
    main()

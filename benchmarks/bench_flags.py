"""Evaluations per second of ``is_enabled`` for a flexibleRollout with two constraints: qv's
compiled state, Unleash's engine through Python (yggdrasil-engine) and the UnleashClient SDK,
in one run side by side (issue 12: qv must do at least 50x either).

    .venv/bin/python benchmarks/bench_flags.py [--seconds 2] [--json]

The state is one flag: flexibleRollout 50 % sticky on userId, constraints desk IN [...] and
orderNotional NUM_GTE 1000000. Each engine answers the same 1,000 contexts (userIds differ), in
a loop, for about ``--seconds``; the figure is answers per second and the median time of one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

FLAG = "pre-trade-risk-v2"
STATE: dict[str, Any] = {
    "version": 2,
    "features": [
        {
            "name": FLAG,
            "enabled": True,
            "strategies": [
                {
                    "name": "flexibleRollout",
                    "parameters": {"rollout": "50", "stickiness": "userId", "groupId": FLAG},
                    "constraints": [
                        {"contextName": "desk", "operator": "IN", "values": ["eu-eq", "eu-fx"]},
                        {"contextName": "orderNotional", "operator": "NUM_GTE", "value": "1e6"},
                    ],
                }
            ],
        }
    ],
}


def contexts() -> list[dict[str, Any]]:
    return [
        {
            "userId": f"trader-{i}",
            "properties": {"desk": "eu-eq" if i % 4 else "us-eq", "orderNotional": "2500000"},
        }
        for i in range(1000)
    ]


def rate(check: Callable[[str, dict[str, Any]], object], seconds: float) -> tuple[float, int]:
    """Calls per second over about ``seconds``, and how many answers were true."""
    ctxs = contexts()
    calls, hits, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for ctx in ctxs:
            if check(FLAG, ctx):
                hits += 1
        calls += len(ctxs)
    return calls / (time.perf_counter() - start), hits * len(ctxs) // calls


def qv_check() -> Callable[[str, dict[str, Any]], object]:
    from qv_config.flags import compile_state

    return compile_state(STATE).is_enabled  # the method itself, as a service calls it


def yggdrasil_check() -> Callable[[str, dict[str, Any]], object]:
    from yggdrasil_engine.engine import UnleashEngine

    engine = UnleashEngine()
    engine.take_state(json.dumps(STATE))
    return lambda name, ctx: engine.is_enabled(name, ctx).is_enabled


def client_check() -> Callable[[str, dict[str, Any]], object]:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache

    cache = FileCache("qv-bench", directory=tempfile.mkdtemp(prefix="qv-bench-"))
    cache.bootstrap_from_dict(STATE)
    client = UnleashClient(
        url="http://127.0.0.1:9/unused",
        app_name="qv-bench",
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
    )
    return client.is_enabled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    figures = {}
    for name, make in (
        ("qv CompiledFlags.is_enabled", qv_check),
        ("yggdrasil-engine is_enabled", yggdrasil_check),
        ("UnleashClient.is_enabled", client_check),
    ):
        per_second, hits = rate(make(), args.seconds)
        figures[name] = {"per_second": round(per_second), "us_per_call": 1e6 / per_second}
        figures[name]["true_of_1000"] = hits
    qv = figures["qv CompiledFlags.is_enabled"]["per_second"]
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print("| evaluator | evaluations/s | µs per call | qv is N× faster |")
        print("|---|---:|---:|---:|")
        for name, fig in figures.items():
            ratio = qv / fig["per_second"]
            print(f"| {name} | {fig['per_second']:,} | {fig['us_per_call']:.2f} | {ratio:.0f}× |")
    answers = {fig["true_of_1000"] for fig in figures.values()}
    if len(answers) != 1:
        print(f"the engines disagree: {figures}", file=sys.stderr)
        return 1
    return 0 if all(qv >= 50 * f["per_second"] for n, f in figures.items() if "qv" not in n) else 1


if __name__ == "__main__":
    sys.exit(main())

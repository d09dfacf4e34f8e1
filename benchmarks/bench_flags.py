"""Evaluations per second of ``is_enabled`` for a flexibleRollout with two constraints: qv's
compiled state, Unleash's engine through Python (yggdrasil-engine) and the UnleashClient SDK,
in one run side by side (issue 12: qv must do at least 50x either).

    .venv/bin/python benchmarks/bench_flags.py [--seconds 2] [--json]

The state is one flag: flexibleRollout 50 % sticky on userId, constraints desk IN [...] and
orderNotional NUM_GTE 1000000. Each engine answers the same 1,000 contexts (1,000 traders, 1,000
notionals), taking turns for about ``--seconds``; figures are answers per second of wall clock
and of CPU time. A second qv row reads 20,000 notionals in turn, so that qv's number memo (4,096
entries) never holds the one it needs: the cost of parsing every value.
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
QV = "qv CompiledFlags.is_enabled"
FRESH = "qv, every notional new (number memo missed)"
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


def contexts(fresh: bool = False) -> list[dict[str, Any]]:
    """1,000 contexts, 1,000 different notionals (``fresh``: 20,000, never the same twice in a
    row of qv's 4,096-entry number memo)."""
    count = 20_000 if fresh else 1000
    return [
        {
            "userId": f"trader-{i % 1000}",
            "properties": {
                "desk": "eu-eq" if i % 4 else "us-eq",
                "orderNotional": str(900_000 + 997 * i),
            },
        }
        for i in range(count)
    ]


Check = Callable[[str, dict[str, Any]], object]


def rates(checks: dict[str, tuple[Check, bool]], seconds: float) -> dict[str, dict[str, float]]:
    """Calls per second of each check (with fresh numbers or not), by the wall clock and by
    the process's CPU time, and how many of 1,000 answers were true.

    The checks take turns (one slice of calls each, round after round), so that the load of
    other processes on a shared machine falls on all of them alike; CPU time also leaves out
    the time the process waited for a core."""
    lists = {False: contexts(), True: contexts(fresh=True)}
    wall = dict.fromkeys(checks, 0.0)
    cpu = dict.fromkeys(checks, 0.0)
    calls = dict.fromkeys(checks, 0)
    hits = dict.fromkeys(checks, 0)
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for name, (check, fresh) in checks.items():
            ctxs = lists[fresh]
            repeat = 20 if name.startswith("qv") and not fresh else 1  # slices of ~10 ms
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                for ctx in ctxs:
                    if check(FLAG, ctx):
                        hits[name] += 1
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - cpu_started
            calls[name] += repeat * len(ctxs)
    return {
        name: {
            "per_second": calls[name] / wall[name],
            "per_cpu_second": calls[name] / cpu[name],
            "true_of_1000": hits[name] * 1000 // calls[name],
        }
        for name in checks
    }


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
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    checks = {
        QV: (qv_check(), False),
        FRESH: (qv_check(), True),
        "yggdrasil-engine is_enabled": (yggdrasil_check(), False),
        "UnleashClient.is_enabled": (client_check(), False),
    }
    figures = rates(checks, args.seconds)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_table(figures)
    answers = {fig["true_of_1000"] for name, fig in figures.items() if name != FRESH}
    if len(answers) != 1:
        print(f"the engines disagree: {figures}", file=sys.stderr)
        return 1
    ours = figures[QV]["per_second"]
    others = [f["per_second"] for name, f in figures.items() if not name.startswith("qv")]
    return 0 if all(ours >= 50 * other for other in others) else 1


def print_table(figures: dict[str, dict[str, float]]) -> None:
    """Rates, and for the other engines how many times qv's rate they are (in brackets: qv
    with every notional new)."""
    print("| evaluator | evaluations/s (wall) | µs per call | qv × | per CPU second | qv × |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, fig in figures.items():
        wall, cpu = fig["per_second"], fig["per_cpu_second"]
        print(
            f"| {name} | {wall:,.0f} | {1e6 / wall:.2f} | {_times(figures, name, 'per_second')} "
            f"| {cpu:,.0f} | {_times(figures, name, 'per_cpu_second')} |"
        )


def _times(figures: dict[str, dict[str, float]], name: str, key: str) -> str:
    if name.startswith("qv"):
        return "—"
    theirs = figures[name][key]
    return f"{figures[QV][key] / theirs:.0f}× ({figures[FRESH][key] / theirs:.0f}×)"


if __name__ == "__main__":
    sys.exit(main())

"""Time the YAML read paths over 10,000 generated ~1 KB strategy-like documents.

Run: .venv/bin/python benchmarks/bench_yamlio.py [--docs N]
Prints ms per 1,000 documents for: load_bytes (the flat loop of the composer), the recursive
composer without positions, and with positions; plus dump_plain.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from qv_config.yamlio import Limits, load_bytes, strict
from qv_config.yamlio.writer import dump_plain

TEMPLATE = """\
apiVersion: qv/v1
kind: Strategy
metadata: {{name: momentum-{i}, owner: team-{team}, labels: {{asset_class: equity}}}}
extends: [strategy/equity]
spec:
  version: 1.{i}.2
  lifecycle: live
  activation: active
  evidence:
    backtest_report: reports/backtests/momentum-{i}-2026Q3.html
    sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f{i:05d}
    period: {{start: 2016-01-01, end: 2026-06-30}}
    max_drawdown_pct: 6.4
    sharpe: 1.38
  universe:
    asset_class: equity
    venues: [XLON, XETR, XPAR]
  parameters:
    lookback_days: {{type: int, value: {lookback}, min: 20, max: 250}}
    top_quantile: {{type: float, value: 0.2, min: 0.05, max: 0.5}}
    rebalance: {{type: enum, value: weekly, choices: [daily, weekly, monthly]}}
    use_ml_signal: {{type: bool, value: false}}
    signal_name: {{type: str, value: mom_12_1}}
  risk_policy: equity-standard
  kill_switch_flag: kill-momentum-{i}
  limits:
    max_gross_exposure: 25000000
    max_net_exposure: 5000000
    max_order_notional: {notional}
    order_rate: 20/1s
    max_drawdown_pct: 8
    daily_loss_limit: 250000
  allocation:
    current_stage: canary
    stages:
      - {{name: paper, capital: 0}}
      - {{name: canary, capital: 2500000}}
      - {{name: full, capital: 25000000}}
"""


def documents(count: int) -> list[bytes]:
    return [
        TEMPLATE.format(i=i, team=i % 7, lookback=20 + i % 200, notional=100000 + i).encode()
        for i in range(count)
    ]


def timed(label: str, docs: list[bytes], run: Callable[[bytes], object]) -> None:
    started = time.perf_counter()
    for data in docs:
        run(data)
    elapsed = time.perf_counter() - started
    print(f"{label:<36} {elapsed / len(docs) * 1e6:8.1f} ms per 1,000 docs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=10_000)
    count = parser.parse_args().docs
    docs = documents(count)
    limits = Limits()
    assert strict.lean(docs[0]) is not strict.ABSTAIN, "bench docs must take the flat loop"
    size = sum(map(len, docs)) / len(docs)
    print(f"{count} documents, {size:.0f} bytes each on average")
    timed("load_bytes (flat loop)", docs, lambda d: load_bytes("b.yaml", d))
    timed("composer, no positions", docs, lambda d: strict.compose("b", d, limits))
    timed("composer, with positions", docs, lambda d: strict.compose("b", d, limits, track=True))
    values = [load_bytes("b.yaml", d).data for d in docs]
    started = time.perf_counter()
    for value in values:
        dump_plain(value)
    print(
        f"{'dump_plain':<36} {(time.perf_counter() - started) / count * 1e6:8.1f} ms per 1,000 docs"
    )


if __name__ == "__main__":
    main()

"""Document builders of the benchmark repository generator (one function per kind).

Every builder returns plain data (dicts, lists, scalars) that ``gen_repo`` writes as YAML. Values
are drawn so that the whole repository is valid by construction: a strategy's limits stay below
``STRATEGY_MAX``, every RiskPolicy is between ``STRATEGY_MAX`` and ``ENVELOPE``, and dates are
far in the future, so ``qv validate`` must report no error on a generated repository.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]

ENVS = ("dev", "staging", "prod")
TIER_ADMITS = {
    "dev": ["draft", "backtested", "approved", "live"],
    "staging": ["approved", "live"],
    "prod": ["live"],
}
ENV_VARS: dict[str, dict[str, Any]] = {
    "dev": {"region": "eu-west-1", "currency": "USD", "db_host": "pg-dev.internal", "replicas": 1},
    "staging": {
        "region": "eu-west-1",
        "currency": "USD",
        "db_host": "pg-staging.internal",
        "replicas": 2,
    },
    "prod": {
        "region": "eu-west-2",
        "currency": "USD",
        "db_host": "pg-prod.internal",
        "replicas": 3,
    },
}
# Ceilings: strategy limits <= STRATEGY_MAX <= every RiskPolicy <= ENVELOPE (SPEC §4, QV510/QV511).
STRATEGY_MAX = {"gross": 25_000_000, "net": 5_000_000, "notional": 500_000, "loss": 250_000}
ENVELOPE_LIMITS = {
    "max_gross_exposure": 2_000_000_000,
    "max_net_exposure": 400_000_000,
    "max_order_notional": 5_000_000,
    "order_rate": "1000/1s",
    "max_drawdown_pct": 15,
    "daily_loss_limit": 20_000_000,
}
SEGMENTS = ("eu-desks", "us-desks", "apac-desks")
STYLES = ("momentum", "meanrev", "carry", "stat-arb", "trend", "pairs")
REGIONS = ("eu", "us", "apac")
ALGOS = ("twap", "vwap", "pov", "implementation_shortfall", "dma")


class Replace(dict[str, Any]):
    """A mapping written with the ``!replace`` tag (SPEC §3): the overlay replaces it whole."""


def envelope(kind: str, name: str, spec: Doc, **extra: Any) -> Doc:
    doc: Doc = {"apiVersion": "qv/v1", "kind": kind, "metadata": {"name": name}}
    doc["metadata"].update(extra.pop("metadata", {}))
    if extra.get("extends"):
        doc["extends"] = extra["extends"]
    doc["spec"] = spec
    return doc


# ---------------------------------------------------------------- names


def strategy_name(i: int) -> str:
    return f"{STYLES[i % len(STYLES)]}-{REGIONS[(i // 6) % 3]}-{i:05d}"


def config_name(i: int) -> str:
    return f"svc-{i:04d}"


def risk_name(i: int) -> str:
    return f"risk-{i:04d}"


def exec_name(i: int) -> str:
    return f"exec-{i:04d}"


def kill_name(i: int) -> str:
    return f"kill-{i:04d}"


def flag_name(i: int) -> str:
    return f"flag-{i:04d}"


# ---------------------------------------------------------------- Environment


def environment(env: str, capital: int) -> Doc:
    segments = [
        {
            "name": seg,
            "description": f"{seg.split('-')[0].upper()} trading desks",
            "constraints": [
                {"contextName": "desk", "operator": "STR_STARTS_WITH", "values": [seg[:2]]}
            ],
        }
        for seg in SEGMENTS
    ]
    risk = {
        "trading_state": "active",
        "limits": dict(ENVELOPE_LIMITS),
        "concentration": {"max_instrument_pct": 10, "max_sector_pct": 40},
    }
    spec = {
        "tier": env,
        "vars": dict(ENV_VARS[env]),
        "capital": capital,
        "risk": risk,
        "admits_lifecycle": list(TIER_ADMITS[env]),
        "segments": segments,
    }
    return envelope("Environment", env, spec, metadata={"owner": "platform"})


# ---------------------------------------------------------------- Strategy


@dataclass(frozen=True)
class StrategyState:
    """What the generator must know of a base strategy to keep environments consistent."""

    name: str
    status: str  # lifecycle
    active: bool
    stage: str
    capitals: dict[str, int]  # stage name -> capital


def _status(i: int) -> tuple[str, bool]:
    slot = i % 10
    if slot <= 6:
        return "live", True
    return ("approved", "backtested", "deprecated")[slot - 7], False


def _strategy_extends(i: int) -> list[str]:
    return [
        [],
        ["strategy/equity-eu"],  # three template levels
        ["strategy/futures"],
        ["strategy/equity", "mixin/low-latency"],  # diamond: strategy/base applied once
    ][i % 4]


def _parameters(rng: random.Random, complete: bool) -> Doc:
    params: Doc = {
        "lookback_days": {"type": "int", "value": rng.randint(20, 250), "min": 20, "max": 250},
        "top_quantile": {"type": "float", "value": round(rng.uniform(0.05, 0.5), 3)},
        "signal_name": {"type": "str", "value": rng.choice(["mom_12_1", "rev_5d", "carry_3m"])},
    }
    params["top_quantile"].update({"min": 0.05, "max": 0.5})
    if complete:  # otherwise strategy/base supplies these two
        params["rebalance"] = {
            "type": "enum",
            "value": "weekly",
            "choices": ["daily", "weekly", "monthly"],
        }
        params["use_ml_signal"] = {"type": "bool", "value": False}
    return params


def _limits(rng: random.Random) -> Doc:
    return {
        "max_gross_exposure": rng.randrange(5, 26) * 1_000_000,
        "max_net_exposure": rng.randrange(1, 6) * 1_000_000,
        "max_order_notional": rng.randrange(100, 501, 50) * 1_000,
        "order_rate": rng.choice(["20/1s", "10/1s", "600/1m"]),
        "max_drawdown_pct": 8,
        "daily_loss_limit": rng.randrange(50, 251, 25) * 1_000,
    }


def strategy(
    i: int, rng: random.Random, n_risk: int, n_exec: int, n_kill: int
) -> tuple[Doc, StrategyState]:
    name = strategy_name(i)
    status, active = _status(i)
    extends = _strategy_extends(i)
    canary = rng.randrange(1, 6) * 500_000
    stages: list[Doc] = [
        {"name": "canary", "capital": canary},
        {"name": "full", "capital": canary * 10},
    ]
    if not extends:  # templates add the paper stage by name-keyed merge
        stages.insert(0, {"name": "paper", "capital": 0})
    stage = rng.choice(["paper", "canary", "full"]) if active else "paper"
    digest = hashlib.sha256(name.encode()).hexdigest()
    spec: Doc = {
        "version": f"{1 + i % 3}.{i % 7}.{i % 11}",
        "lifecycle": status,
        "activation": "active" if active else "inactive",
        "evidence": {
            "backtest_report": f"reports/backtests/{name}.html",
            "sha256": digest,
            "period": {"start": "2016-01-01", "end": "2026-06-30"},
            "max_drawdown_pct": round(rng.uniform(2.0, 7.5), 1),
            "sharpe": round(rng.uniform(0.6, 2.4), 2),
        },
        "parameters": _parameters(rng, complete=not extends),
        "risk_policy": risk_name(i % n_risk),
        "execution_policy": exec_name(i % n_exec),
        "kill_switch_flag": kill_name(i % n_kill),
        "limits": _limits(rng),
        "allocation": {"current_stage": stage, "stages": stages},
    }
    if not extends:
        spec["universe"] = {"asset_class": "equity", "venues": ["XLON", "XETR"]}
    meta = {"owner": f"team-{STYLES[i % 6]}", "labels": {"style": STYLES[i % 6]}}
    meta["description"] = f"{STYLES[i % 6]} strategy #{i}"
    doc = envelope("Strategy", name, spec, metadata=meta, extends=extends)
    capitals = {s["name"]: s["capital"] for s in stages} | {"paper": 0}
    return doc, StrategyState(name, status, active, stage, capitals)


def strategy_overlay(
    env: str, base: StrategyState, rng: random.Random
) -> tuple[Doc, StrategyState]:
    """A partial document for ``environments/<env>/strategies/<name>.yaml`` and its effect."""
    spec: Doc = {
        "parameters": {"lookback_days": {"value": rng.randint(20, 250)}},
        "limits": {"max_order_notional": 100_000},  # tightening only
    }
    state = base
    activate = (env == "dev" and base.status in ("backtested", "approved")) or (
        env == "staging" and base.status == "approved"
    )
    if activate or base.active:
        stage = rng.choice(["paper", "canary", "full"])
        spec["activation"] = "active"
        spec["allocation"] = {"current_stage": stage}
        state = StrategyState(base.name, base.status, True, stage, base.capitals)
    if rng.random() < 0.3:
        spec["universe"] = Replace({"asset_class": "equity", "venues": ["XLON"]})
    doc: Doc = {"spec": spec}
    if rng.random() < 0.5:  # an overlay may restate the identity; it must match the base
        doc = {"apiVersion": "qv/v1", "kind": "Strategy", "metadata": {"name": base.name}} | doc
    return doc, state


# ---------------------------------------------------------------- RiskPolicy / ExecutionPolicy


def risk_policy(i: int, rng: random.Random) -> Doc:
    spec: Doc = {
        "limits": {
            "max_gross_exposure": rng.randrange(30, 61) * 1_000_000,
            "max_net_exposure": rng.randrange(6, 16) * 1_000_000,
            "max_order_notional": rng.randrange(600, 1001, 100) * 1_000,
            "order_rate": rng.choice(["50/1s", "3000/1m", "30/1s"]),
            "max_drawdown_pct": rng.choice([9, 10, 9.5]),
            "daily_loss_limit": rng.randrange(300, 751, 50) * 1_000,
        },
        "correlation_groups": [
            {
                "name": f"group-{i % 7}",
                "instruments": ["BNP.PA", "DBK.DE", "SAN.MC"][: 1 + i % 3],
                "max_gross_exposure": rng.randrange(2, 9) * 1_000_000,
            }
        ],
        "restricted_instruments": ["RUSAL.L"] if i % 2 else [],
    }
    extends = [[], ["risk/standard"], ["risk/conservative"]][i % 3]
    if not extends:
        spec["trading_state"] = "active"
        spec["concentration"] = {"max_instrument_pct": 5, "max_sector_pct": 25}
    return envelope("RiskPolicy", risk_name(i), spec, metadata={"owner": "risk"}, extends=extends)


def execution_policy(i: int, rng: random.Random) -> Doc:
    rules = []
    for r in range(1 + i % 3):
        when: Doc = {"adv_pct": {"min": 1 + r * 4}, "instrument_types": ["equity", "etf"]}
        if r == 1:
            when["volatility_pct"] = {"max": 60}
            when["spread_bps"] = {"max": 25}
        if r == 2:
            when["time_window"] = {"start": "08:05", "end": "16:25", "tz": "Europe/London"}
            when["notional"] = {"min": 1_000_000}
        algo = ALGOS[(i + r) % len(ALGOS)]
        params = {"urgency": "medium", "max_participation_pct": rng.randrange(5, 21)}
        rules.append({"name": f"rule-{r}", "when": when, "algorithm": algo, "params": params})
    spec = {
        "default": {"algorithm": "vwap", "params": {"max_participation_pct": 10}},
        "rules": rules,
    }
    return envelope("ExecutionPolicy", exec_name(i), spec, metadata={"owner": "team-execution"})


# ---------------------------------------------------------------- templates


def templates() -> dict[str, Doc]:
    """Template name -> partial document (two to three levels per kind)."""
    bool_param = {"type": "bool", "value": False}
    rebalance = {"type": "enum", "value": "weekly", "choices": ["daily", "weekly", "monthly"]}
    return {
        "strategy/base": {
            "metadata": {"labels": {"managed_by": "qv"}},
            "spec": {
                "parameters": {"rebalance": rebalance, "use_ml_signal": bool_param},
                "limits": {"order_rate": "10/1s", "max_drawdown_pct": 8},
                "allocation": {"stages": [{"name": "paper", "capital": 0}]},
            },
        },
        "strategy/equity": {
            "extends": ["strategy/base"],
            "spec": {"universe": {"asset_class": "equity", "venues": ["XNYS", "XNAS"]}},
        },
        "strategy/equity-eu": {
            "extends": ["strategy/equity"],
            "metadata": {"labels": {"region": "eu"}},
            "spec": {"universe": {"venues": ["XLON", "XETR", "XPAR"]}},
        },
        "strategy/futures": {
            "extends": ["strategy/base"],
            "spec": {"universe": {"asset_class": "future", "venues": ["XEUR", "XCME"]}},
        },
        "mixin/low-latency": {
            "extends": ["strategy/base"],
            "metadata": {"labels": {"latency": "low"}},
            "spec": {"parameters": {"use_ml_signal": {"type": "bool", "value": True}}},
        },
        "risk/standard": {
            "spec": {
                "trading_state": "active",
                "concentration": {"max_instrument_pct": 5, "max_sector_pct": 25},
            }
        },
        "risk/conservative": {
            "extends": ["risk/standard"],
            "spec": {"concentration": {"max_instrument_pct": 3}},
        },
        "service/base": {
            "spec": {
                "region": "{{ env.vars.region }}",
                "log_level": "info",
                "http": {"port": 8080, "timeout_ms": 2000},
            }
        },
        "service/jvm": {
            "extends": ["service/base"],
            "spec": {"jvm": {"heap_mb": 1024, "gc": "g1"}},
        },
        "service/jvm-large": {
            "extends": ["service/jvm"],
            "spec": {"replicas": "{{ env.vars.replicas }}", "jvm": {"heap_mb": 8192}},
        },
    }

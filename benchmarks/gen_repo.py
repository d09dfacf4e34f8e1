"""Generate a complete, valid qv configuration repository of N documents (for benchmarks).

    python benchmarks/gen_repo.py OUT_DIR --docs N [--seed S] [--git]

"N documents" counts document files: base strategies, overlays, environment documents and the
``environment.yaml`` files (templates, schemas and qv.yaml are extra). The mix follows a real
platform: Config ~40 %, Flag ~25 %, Strategy ~15 % (bases and their overlays), RiskPolicy ~10 %,
ExecutionPolicy ~10 %. The output is deterministic for a seed, and ``qv validate`` must find no
error in it: that is the contract the benchmark numbers rely on.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Run as a script (``python benchmarks/gen_repo.py``) or imported by the other benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_kinds as kinds
import gen_services as services

MIN_DOCS = 30


@dataclass(frozen=True)
class Plan:
    """How many documents of each kind go where; totals add up to ``docs`` exactly."""

    docs: int
    seed: int
    strategies: int  # base documents in strategies/
    overlays: tuple[int, int, int]  # per environment
    risk: int  # RiskPolicies per environment (same names everywhere)
    execution: int  # ExecutionPolicies per environment
    kill: int  # kill-switch Flags per environment
    flags: tuple[int, int, int]  # other Flags per environment
    configs: tuple[int, int, int]  # Configs per environment
    schemas: int  # service schema files in schemas/configs/

    @property
    def total(self) -> int:
        per_env = 3 * (1 + self.risk + self.execution + self.kill)
        return self.strategies + sum(self.overlays) + per_env + sum(self.flags) + sum(self.configs)


def _split(total: int) -> tuple[int, int, int]:
    q, r = divmod(max(total, 0), 3)
    return (q + (r > 0), q + (r > 1), q)


def make_plan(docs: int, seed: int = 0) -> Plan:
    if docs < MIN_DOCS:
        raise ValueError(f"--docs must be at least {MIN_DOCS} (got {docs})")
    rest = docs - 3  # the three environment.yaml files
    strategies = max(3, round(rest * 0.10))
    overlays = _split(max(3, round(rest * 0.05)))
    risk = max(1, round(rest * 0.10 / 3))
    execution = max(1, round(rest * 0.10 / 3))
    flags_per_env = max(2, round(rest * 0.25 / 3))
    kill = max(1, flags_per_env // 5)
    fixed = strategies + sum(overlays) + 3 * (risk + execution + flags_per_env)
    configs = _split(rest - fixed)
    schemas = max(1, min(36, *configs))
    flags = (flags_per_env - kill,) * 3
    return Plan(docs, seed, strategies, overlays, risk, execution, kill, flags, configs, schemas)


# ---------------------------------------------------------------- YAML writing


class _Dumper(yaml.CSafeDumper):
    pass


def _represent_replace(dumper: yaml.representer.SafeRepresenter, data: kinds.Replace) -> yaml.Node:
    return dumper.represent_mapping("!replace", dict(data))


_Dumper.add_representer(kinds.Replace, _represent_replace)


def write_yaml(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")


def _project() -> dict[str, Any]:
    spec = {
        "environments": list(kinds.ENVS),
        "bases": ["strategies"],
        "store": "sqlite:.qv/state.db",
        "env_specific": ["spec.capital", "spec.endpoints"],
    }
    return {"apiVersion": "qv/v1", "kind": "Project", "metadata": {"name": "bench"}, "spec": spec}


# ---------------------------------------------------------------- generation


def _strategies(out: Path, plan: Plan, rng: random.Random) -> list[kinds.StrategyState]:
    states = []
    for i in range(plan.strategies):
        doc, state = kinds.strategy(i, rng, plan.risk, plan.execution, plan.kill)
        write_yaml(out / "strategies" / f"{state.name}.yaml", doc)
        states.append(state)
    return states


def _overlays(
    out: Path, env: str, count: int, bases: list[kinds.StrategyState], rng: random.Random
) -> int:
    """Write ``count`` overlays in ``env``; return the active capital of the environment."""
    effective = {s.name: s for s in bases}
    for index in sorted(rng.sample(range(len(bases)), min(count, len(bases)))):
        doc, state = kinds.strategy_overlay(env, bases[index], rng)
        write_yaml(out / "environments" / env / "strategies" / f"{state.name}.yaml", doc)
        effective[state.name] = state
    return sum(s.capitals[s.stage] for s in effective.values() if s.active)


def _env_documents(out: Path, env: str, index: int, plan: Plan, rng: random.Random) -> None:
    folder = out / "environments" / env
    for i in range(plan.risk):
        write_yaml(folder / "risk" / f"{kinds.risk_name(i)}.yaml", kinds.risk_policy(i, rng))
    for i in range(plan.execution):
        write_yaml(
            folder / "execution" / f"{kinds.exec_name(i)}.yaml", kinds.execution_policy(i, rng)
        )
    for i in range(plan.kill):
        write_yaml(folder / "flags" / f"{kinds.kill_name(i)}.yaml", services.kill_switch(i))
    for i in range(plan.flags[index]):
        write_yaml(folder / "flags" / f"{kinds.flag_name(i)}.yaml", services.flag(i, env, rng))
    for i in range(plan.configs[index]):
        doc = services.config(i, env, plan.schemas, rng)
        write_yaml(folder / "configs" / f"{kinds.config_name(i)}.yaml", doc)


def _capital(active: int) -> int:
    # Headroom of 25 %, rounded up to a million, and never zero (capital is a ceiling).
    return max(10_000_000, math.ceil(active * 1.25 / 1_000_000) * 1_000_000)


def generate(out: Path, docs: int, seed: int = 0) -> Plan:
    """Write the repository into ``out`` (emptied first) and return its plan."""
    plan = make_plan(docs, seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(seed)
    write_yaml(out / "qv.yaml", _project())
    for name, doc in kinds.templates().items():
        write_yaml(out / "templates" / f"{name}.yaml", doc)
    schema_dir = out / "schemas" / "configs"
    schema_dir.mkdir(parents=True)
    for family in range(plan.schemas):
        text = json.dumps(services.service_schema(family), indent=2) + "\n"
        (schema_dir / f"{kinds.config_name(family)}.schema.json").write_text(text)
    bases = _strategies(out, plan, rng)
    for index, env in enumerate(kinds.ENVS):
        active = _overlays(out, env, plan.overlays[index], bases, rng)
        write_yaml(
            out / "environments" / env / "environment.yaml",
            kinds.environment(env, _capital(active)),
        )
        _env_documents(out, env, index, plan, rng)
    (out / ".gitignore").write_text(".qv/\n.bench-stamp\n")
    return plan


def git_commit(out: Path) -> None:
    """``git init`` and commit the tree (for history benchmarks)."""

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(out), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.name", "qv bench")
    git("config", "user.email", "bench@quantivista.example")
    # 10,000 new loose objects would start `git gc --auto` in the background, detached: it
    # repacks while benchmarks copy the repository (objects vanish mid-copy) and time qv.
    git("config", "gc.auto", "0")
    git("add", "-A")
    git("commit", "-q", "-m", "Generated benchmark repository")
    # Packed, as a clone, a mirror (qv agent's) or any repository after `git gc` keeps them:
    # loose objects cost a file each to read (20,000 blobs: ~0.75 s loose, ~0.1 s packed).
    git("repack", "-a", "-d", "-q")


def count_documents(out: Path) -> int:
    """Document files as the plan counts them: every YAML file but qv.yaml and templates."""
    files = [p for p in out.rglob("*.yaml") if p.parts[len(out.parts)] != "templates"]
    return sum(1 for p in files if p != out / "qv.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path, help="output directory (emptied first)")
    parser.add_argument("--docs", type=int, default=10_000, help="number of document files")
    parser.add_argument("--seed", type=int, default=0, help="random seed (output is deterministic)")
    parser.add_argument("--git", action="store_true", help="git init and commit the tree")
    args = parser.parse_args(argv)
    try:
        plan = generate(args.out, args.docs, args.seed)
    except ValueError as err:
        parser.error(str(err))
    if args.git:
        git_commit(args.out)
    print(f"wrote {plan.total} documents to {args.out} ({plan})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``env_specific`` per kind (SPEC §1) and selectors in ``qv diff A B [SELECTOR...]``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qv_config.diff.envspecific import EnvSpecific, covered

Qv = Callable[..., Any]
Repo = Any
OVERLAY = "environments/staging/strategies/example-momentum.yaml"
PER_KIND = """  env_specific:
    '*': [spec.endpoints]
    Strategy: [spec.limits, spec.allocation.stages.*.capital]
"""


def _paths(out: str) -> set[str]:
    data = json.loads(out)
    return {f"{c['ref']}:{f['path']}" for c in data["changes"] for f in c["fields"]}


def _per_kind(repo: Repo) -> None:
    text = (repo.root / "qv.yaml").read_text()
    start = text.index("  env_specific:")
    end = text.index("    Environment:")
    end = text.index("\n", end) + 1
    (repo.root / "qv.yaml").write_text(text[:start] + PER_KIND + text[end:])
    repo.write(OVERLAY, "spec:\n  limits: {max_order_notional: 40000}\n")
    repo.replace(
        "environments/staging/configs/example-service.yaml", "500000", "600000"
    )  # not env-specific
    repo.commit("Size staging")


def test_per_kind_paths_are_left_out_between_environments(repo: Repo, qv: Qv) -> None:
    _per_kind(repo)
    done = qv(repo.root, "diff", "dev", "staging", "--format", "json")
    assert done.code == 0, done.err
    found = _paths(done.out)
    assert "strategy/example-momentum:spec.limits.max_order_notional" not in found
    assert "strategy/example-momentum:spec.activation" in found  # not env-specific here
    assert "config/example-service:spec.max_order_notional" in found
    assert not any(p.startswith("config/example-service:spec.endpoints") for p in found)
    every = _paths(qv(repo.root, "diff", "dev", "staging", "--all", "--format", "json").out)
    assert "strategy/example-momentum:spec.limits.max_order_notional" in every
    assert "config/example-service:spec.endpoints.http" in every


def test_between_revisions_of_one_environment_nothing_is_left_out(repo: Repo, qv: Qv) -> None:
    _per_kind(repo)
    done = qv(repo.root, "diff", "staging@HEAD~1", "staging", "--format", "json")
    assert "strategy/example-momentum:spec.limits.max_order_notional" in _paths(done.out)


def test_selectors_keep_the_documents_they_match(repo: Repo, qv: Qv) -> None:
    _per_kind(repo)
    done = qv(repo.root, "diff", "dev", "staging", "config/*", "--format", "json")
    assert done.code == 0, done.err
    assert {c["ref"] for c in json.loads(done.out)["changes"]} == {"config/example-service"}
    by_kind_name = qv(repo.root, "diff", "dev", "staging", "RiskPolicy/example-*")
    assert by_kind_name.code == 0, by_kind_name.err
    assert "config/example-service" not in by_kind_name.out


def test_a_selector_matching_nothing_is_a_usage_error(repo: Repo, qv: Qv) -> None:
    done = qv(repo.root, "diff", "dev", "staging", "strategy/example-momentu")
    assert done.code == 2
    assert "matches no document" in done.err
    assert "strategy/example-momentum" in done.err
    bad = qv(repo.root, "diff", "dev", "staging", "strategy")
    assert bad.code == 2
    assert "kind/name" in bad.err


def test_an_unknown_kind_in_env_specific_is_invalid(repo: Repo, qv: Qv) -> None:
    repo.replace("qv.yaml", "    Strategy:", "    Strategie:")
    done = qv(repo.root, "validate")
    assert done.code == 1
    assert "qv.yaml" in done.out
    assert "env_specific" in done.out
    assert "QV205" in done.out


def test_wildcards_match_any_key_or_list_item() -> None:
    patterns = [("spec", "venues", "*", "host")]
    assert covered(("spec", "venues", 3, "host"), patterns)
    assert covered(("spec", "venues", "lse", "host", "name"), patterns)
    assert not covered(("spec", "venues", 3, "port"), patterns)
    assert not covered(("spec", "venues"), patterns)  # the list itself is not covered
    spec = EnvSpecific((("spec", "endpoints"),), {"Strategy": (("spec", "limits"),)})
    assert spec.covers("Strategy", ("spec", "limits", "order_rate"))
    assert spec.covers("Config", ("spec", "endpoints", "http"))
    assert not spec.covers("Config", ("spec", "limits", "order_rate"))

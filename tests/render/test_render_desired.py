"""Desired state and digest (docs/format.md): canonical JSON, exact digest formula, equal
configuration at different commits gives an equal digest, any value change changes it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from qv_config.render import desired_state, digest, render_environment
from qv_config.repo import GitSource, load_snapshot


def test_canonical_json_and_digest_formula(tree: Any, snap: Any) -> None:
    rendered = render_environment(snap(tree()), "prod")
    desired = desired_state(rendered)
    assert sorted(desired) == [
        "prod/environment/prod",
        "prod/flag/kill-momentum-eu",
        "prod/strategy/momentum-eu",
    ]
    value = desired["prod/flag/kill-momentum-eu"]
    assert value == (
        b'{"apiVersion":"qv/v1","kind":"Flag","metadata":{"name":"kill-momentum-eu"},'
        b'"spec":{"enabled":false,"type":"kill-switch"}}'
    )
    strategy = json.loads(desired["prod/strategy/momentum-eu"])
    assert "extends" not in strategy
    lines = "".join(f"{k}\t{hashlib.sha256(desired[k]).hexdigest()}\n" for k in sorted(desired))
    assert digest(desired) == hashlib.sha256(lines.encode()).hexdigest()
    assert digest(dict(reversed(desired.items()))) == digest(desired)


def test_equal_configuration_at_two_commits_has_equal_digest(tree: Any, git_repo: Any) -> None:
    root = tree()
    git = git_repo(root)
    first = git.commit("first")
    # Same effective configuration, written differently: comments, key order, flow vs block,
    # and a value moved from the base document into its template.
    (root / "environments/prod/strategies/momentum-eu.yaml").write_text(
        "# raise the limit in prod\nspec:\n  limits:\n    max_order_notional: 750000\n"
        "  activation: active\n"
    )
    (root / "environments/dev/environment.yaml").write_text(
        "kind: Environment\napiVersion: qv/v1\nmetadata:\n  name: dev\n"
        "spec: {vars: {capital: 1000, region: eu-dev-1}, tier: dev}\n"
    )
    second = git.commit("reformat")
    # A real value change.
    (root / "templates/strategy/base.yaml").write_text(
        (root / "templates/strategy/base.yaml").read_text().replace("10/1s", "20/1s")
    )
    third = git.commit("change")

    def digests(rev: str) -> dict[str, str]:
        snapshot = load_snapshot(GitSource(root, rev))
        return {
            env: digest(desired_state(render_environment(snapshot, env))) for env in ("dev", "prod")
        }

    assert first != second
    assert digests(first) == digests(second)
    changed = digests(third)
    assert changed["dev"] != digests(second)["dev"]
    assert changed["prod"] != digests(second)["prod"]


def test_any_value_change_changes_the_digest(tree: Any, snap: Any) -> None:
    base = digest(desired_state(render_environment(snap(tree()), "prod")))
    for extra in (
        {
            "environments/prod/flags/kill-momentum-eu.yaml": "apiVersion: qv/v1\nkind: Flag\n"
            "metadata: {name: kill-momentum-eu}\nspec: {type: kill-switch, enabled: true}\n"
        },
        {
            "environments/prod/environment.yaml": "apiVersion: qv/v1\nkind: Environment\n"
            "metadata: {name: prod}\nspec:\n  tier: prod\n  vars: {region: eu-west-2, "
            "capital: 250000000}\n"
        },
        {"environments/prod/flags/kill-momentum-eu.yaml": None},
    ):
        # tree() rewrites the standard files first, so each variation starts from the same tree
        other = digest(desired_state(render_environment(snap(tree(extra)), "prod")))
        assert other != base

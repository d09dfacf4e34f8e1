"""`qv render` end to end: formats, selectors, explain, findings, usage errors and exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml


def test_yaml_output_is_multi_document_in_key_order(tree: Any, qv: Any) -> None:
    result = qv(tree(), "render", "--env", "prod")
    assert result.code == 0, result.err
    docs = list(yaml.safe_load_all(result.out))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Environment", "prod"),
        ("Flag", "kill-momentum-eu"),
        ("Strategy", "momentum-eu"),
    ]
    strategy = docs[2]
    assert list(strategy) == ["apiVersion", "kind", "metadata", "spec"]  # authored order
    assert strategy["spec"]["region"] == "eu-west-1"
    assert strategy["spec"]["limits"]["max_order_notional"] == 750000
    assert "extends" not in strategy
    assert "{" not in result.out.split("---")[2].split("allocation")[0]  # block style


def test_json_output_keys_are_desired_state_keys(tree: Any, qv: Any) -> None:
    result = qv(tree(), "render", "--env", "dev", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert list(data) == ["dev/environment/dev", "dev/strategy/momentum-eu"]
    assert data["dev/strategy/momentum-eu"]["spec"]["capital_share"] == 100.0
    assert result.out.startswith('{\n  "dev/environment/dev"')


@pytest.mark.parametrize(
    ("selector", "keys"),
    [
        ("strategy/*", ["prod/strategy/momentum-eu"]),
        ("Strategy/momentum-eu", ["prod/strategy/momentum-eu"]),
        ("STRATEGY/MOMENTUM-*", ["prod/strategy/momentum-eu"]),
        ("flag/kill-*", ["prod/flag/kill-momentum-eu"]),
        ("*/*momentum-*", ["prod/flag/kill-momentum-eu", "prod/strategy/momentum-eu"]),
        ("environment/prod", ["prod/environment/prod"]),
    ],
)
def test_selectors(tree: Any, qv: Any, selector: str, keys: list[str]) -> None:
    result = qv(tree(), "render", "--env", "prod", "--format", "json", selector)
    assert result.code == 0, result.err
    assert list(json.loads(result.out)) == keys


def test_risk_policy_slug_and_kind_name(tree: Any, qv: Any) -> None:
    root = tree(
        {
            "environments/prod/risk/eq.yaml": "apiVersion: qv/v1\nkind: RiskPolicy\n"
            "metadata: {name: equity-standard}\nspec: {}\n"
        }
    )
    for selector in ("risk-policy/equity-*", "riskpolicy/equity-standard"):
        result = qv(root, "render", "--env", "prod", "--format", "json", selector)
        assert list(json.loads(result.out)) == ["prod/risk-policy/equity-standard"]


def test_selector_matching_nothing_is_usage_error(tree: Any, qv: Any) -> None:
    result = qv(tree(), "render", "--env", "prod", "strategy/momentum-us")
    assert result.code == 2
    assert "matches no document" in result.err
    assert "strategy/momentum-eu" in result.err


def test_bad_selector_and_unknown_env_and_format(tree: Any, qv: Any) -> None:
    root = tree()
    bad = qv(root, "render", "--env", "prod", "momentum")
    assert bad.code == 2
    assert "kind/name" in bad.err
    env = qv(root, "render", "--env", "prd")
    assert env.code == 2
    assert "unknown environment 'prd'" in env.err
    assert "dev, prod" in env.err
    unleash = qv(root, "render", "--env", "prod", "--format", "unleash", "strategy/*")
    assert unleash.code == 2
    assert "takes no selectors" in unleash.err
    other = qv(root, "render", "--env", "prod", "--format", "toml")
    assert other.code == 2


def test_findings_are_printed_one_per_line_and_exit_1(tree: Any, qv: Any) -> None:
    root = tree(
        {
            "strategies/x.yaml": "apiVersion: qv/v1\nkind: Strategy\nmetadata: {name: x}\n"
            "extends: [nope]\n",
            "environments/prod/flags/t.yaml": "apiVersion: qv/v1\nkind: Flag\n"
            "metadata: {name: t}\nspec:\n  a: '{{ env.vars.missing }}'\n",
        }
    )
    result = qv(root, "render", "--env", "prod")
    assert result.code == 1
    lines = result.err.splitlines()
    assert any(
        line.startswith("strategies/x.yaml:4:") and " QV211 " in line and line.endswith("[prod]")
        for line in lines
    ), lines
    assert any(
        line.startswith("environments/prod/flags/t.yaml:5:") and " QV230 " in line for line in lines
    ), lines
    assert result.out == ""


def test_broken_yaml_fails_render(tree: Any, qv: Any) -> None:
    root = tree({"strategies/broken.yaml": "a: [1,\n"})
    result = qv(root, "render", "--env", "dev")
    assert result.code == 1
    assert "strategies/broken.yaml:" in result.err
    assert "QV1" in result.err


def test_explain_prints_every_layer_and_the_winner(tree: Any, qv: Any) -> None:
    result = qv(
        tree(),
        "render",
        "--env",
        "prod",
        "--explain",
        "strategy/momentum-eu:spec.limits.max_order_notional",
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "prod/strategy/momentum-eu: spec.limits.max_order_notional"
    assert lines[1].startswith("  templates/strategy/base.yaml:8:")
    assert "template strategy/base  100000" in lines[1]
    assert "template strategy/equity  250000" in lines[2]
    assert lines[3].startswith("  strategies/momentum-eu.yaml:11:")
    assert "500000" in lines[3]
    assert lines[4].startswith("  environments/prod/strategies/momentum-eu.yaml:4:")
    assert lines[4].endswith("750000  <- wins")
    assert lines[5] == "final value: 750000"
    assert sum("<- wins" in line for line in lines) == 1


def test_explain_templated_and_named_list_item(tree: Any, qv: Any) -> None:
    root = tree()
    region = qv(root, "render", "--env", "prod", "--explain", "strategy/momentum-eu:spec.region")
    assert '"{{ env.vars.region }}"  <- wins' in region.out
    assert region.out.endswith('final value: "eu-west-1"\n')
    stage = qv(
        root,
        "render",
        "--env",
        "prod",
        "--explain",
        "strategy/momentum-eu:spec.allocation.stages.full.capital",
    )
    assert stage.code == 0, stage.err
    assert "prod/strategy/momentum-eu: spec.allocation.stages[1].capital" in stage.out
    assert "final value: 1000" in stage.out


def test_explain_deleted_field(tree: Any, qv: Any) -> None:
    root = tree(
        {"environments/prod/strategies/momentum-eu.yaml": "spec: {limits: {order_rate: null}}\n"}
    )
    result = qv(
        root, "render", "--env", "prod", "--explain", "strategy/momentum-eu:spec.limits.order_rate"
    )
    assert result.code == 0, result.err
    assert "(deleted)" in result.out
    assert result.out.endswith("final value: (absent)\n")


def test_explain_unknown_document_and_field(tree: Any, qv: Any) -> None:
    root = tree()
    doc = qv(root, "render", "--env", "prod", "--explain", "strategy/momentum-us:spec.version")
    assert doc.code == 2
    assert "strategy/momentum-eu" in doc.err
    field = qv(
        root, "render", "--env", "prod", "--explain", "strategy/momentum-eu:spec.limits.max_ordr"
    )
    assert field.code == 2
    assert "max_order_notional" in field.err


def test_invalid_qv_yaml_is_reported(tree: Any, qv: Any) -> None:
    root = tree({"qv.yaml": "apiVersion: qv/v1\nkind: Project\nmetadata: {name: x}\nspec: {}\n"})
    result = qv(root, "render", "--env", "prod")
    assert result.code == 1
    assert "qv.yaml:" in result.err
    assert "QV205" in result.err


def test_explain_of_a_document_that_does_not_render(tree: Any, qv: Any) -> None:
    root = tree({"environments/prod/strategies/momentum-eu.yaml": "spec: {a: '{{ nope }}'}\n"})
    result = qv(root, "render", "--env", "prod", "--explain", "strategy/momentum-eu:spec.a")
    assert result.code == 1
    assert "QV230" in result.err


def test_no_project_is_usage_error(tmp_path: Any, qv: Any) -> None:
    result = qv(tmp_path, "render", "--env", "prod")
    assert result.code == 2
    assert "qv.yaml" in result.err


def test_selected_document_that_fails_reports_its_finding(tree: Any, qv: Any) -> None:
    root = tree({"environments/prod/strategies/momentum-eu.yaml": "extends: [x]\n"})
    result = qv(root, "render", "--env", "prod", "strategy/momentum-eu")
    assert result.code == 1
    assert "QV212" in result.err

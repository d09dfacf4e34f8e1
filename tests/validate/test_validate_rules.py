"""Rules run on rendered documents built directly (no renderer): edge cases of each family."""

from __future__ import annotations

from datetime import date

from tests.validate.conftest import make_doc, make_env

from qv_config.findings import Finding, Severity
from qv_config.validate import validate_rendered
from qv_config.validate.rules._util import did_you_mean, fmt, rate_per_second
from qv_config.validate.rules.secrets import is_ciphertext

STRATEGY = {
    "version": "1.0.0",
    "lifecycle": "live",
    "activation": "active",
    "risk_policy": "pol",
    "limits": {"order_rate": "600/1m", "max_order_notional": 100},
    "allocation": {"current_stage": "full", "stages": [{"name": "full", "capital": 600_000}]},
}


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_order_rates_compare_per_second() -> None:
    assert rate_per_second("600/1m") == 10.0
    assert rate_per_second("5/100ms") == 50.0
    assert rate_per_second("20/0s") is None
    assert rate_per_second("twenty") is None
    policy = make_doc("dev", "RiskPolicy", "pol", {"limits": {"order_rate": "11/1s"}})
    ok = make_env("dev", make_doc("dev", "Strategy", "s", STRATEGY), policy)
    assert "QV510" not in codes(validate_rendered([ok]))
    tight = make_doc("dev", "RiskPolicy", "pol", {"limits": {"order_rate": "9/1s"}})
    found = validate_rendered([make_env("dev", make_doc("dev", "Strategy", "s", STRATEGY), tight)])
    [qv510] = [f for f in found if f.code == "QV510"]
    assert qv510.message == "order_rate 600/1m exceeds risk policy pol's 9/1s"
    assert (qv510.env, qv510.kind, qv510.name, qv510.field) == (
        "dev",
        "Strategy",
        "s",
        "spec.limits.order_rate",
    )


def test_malformed_rate_is_qv405_without_models_pattern() -> None:
    from qv_config.validate.rules.document import order_rate

    data = {"spec": {"risk": {"limits": {"order_rate": "20/0s"}}}}
    [issue] = list(order_rate("Environment", data))
    assert issue.code == "QV405"
    assert issue.path == ("spec", "risk", "limits", "order_rate")


def test_expiry_uses_the_injected_day() -> None:
    flag = make_doc(
        "dev", "Flag", "f", {"type": "kill-switch", "enabled": True, "expires": "2026-03-01"}
    )
    env = make_env("dev", flag)
    before = validate_rendered([env], today=date(2026, 3, 1))
    after = validate_rendered([env], today=date(2026, 3, 2))
    assert "QV540" not in codes(before)
    [warning] = [f for f in after if f.code == "QV540"]
    assert warning.severity is Severity.WARNING


def test_capital_counts_only_active_strategies_at_current_stage() -> None:
    inactive = make_doc("dev", "Strategy", "idle", {**STRATEGY, "activation": "inactive"})
    active = make_doc("dev", "Strategy", "busy", STRATEGY)
    env = make_env("dev", inactive, active, env_spec={"capital": 700_000})
    assert "QV520" not in codes(validate_rendered([env]))
    env = make_env("dev", inactive, active, env_spec={"capital": 500_000})
    [qv520] = [f for f in validate_rendered([env]) if f.code == "QV520"]
    assert "600,000" in qv520.message
    assert "busy 600,000" in qv520.message
    assert qv520.field == "spec.capital"
    assert qv520.kind == "Environment"


def test_prod_tier_requires_evidence_and_admission() -> None:
    draft = make_doc("prod", "Strategy", "s", {**STRATEGY, "lifecycle": "draft"})
    env = make_env(
        "prod", draft, tier="prod", env_spec={"admits_lifecycle": ["live"], "capital": 10**9}
    )
    assert {"QV530", "QV531"} <= set(codes(validate_rendered([env])))


def test_kill_switch_variants_in_flag_strategies() -> None:
    flag = make_doc(
        "dev",
        "Flag",
        "k",
        {
            "type": "kill-switch",
            "enabled": False,
            "strategies": [{"name": "default", "variants": [{"name": "a", "weight": 1000}]}],
        },
    )
    [qv541] = [f for f in validate_rendered([make_env("dev", flag)]) if f.code == "QV541"]
    assert qv541.field == "spec.strategies[0].variants"


def test_messages_and_helpers() -> None:
    assert fmt(2_000_000) == "2,000,000"
    assert fmt(2.5) == "2.5"
    assert fmt("20/1s") == "20/1s"
    assert did_you_mean("equity-standrd", ["equity-standard", "fx"]) == (
        " (did you mean 'equity-standard'?)"
    )
    assert did_you_mean("x", []) == " (there are none in this environment)"
    assert is_ciphertext("ENC[AES256_GCM,data:abc=,iv:aXY=,tag:dGFn,type:str]")
    assert not is_ciphertext("hunter2")
    assert not is_ciphertext("ENC[AES256_GCM,data:abc]")


def test_secret_message_never_holds_the_value(tmp_path: object) -> None:
    schema = b'{"type": "object", "properties": {"token": {"type": "string", "x-qv-secret": true}}}'
    doc = make_doc("dev", "Config", "svc", {"token": "s3cr3t-value"})
    found = validate_rendered(
        [make_env("dev", doc)],
        read=lambda path: schema if path == "schemas/configs/svc.schema.json" else None,
    )
    [qv601] = [f for f in found if f.code == "QV601"]
    assert "s3cr3t-value" not in qv601.message
    assert qv601.field == "spec.token"


def test_invalid_service_schema_is_qv311_at_the_schema_file() -> None:
    doc = make_doc("dev", "Config", "svc", {"port": 1})
    found = validate_rendered(
        [make_env("dev", doc)], read=lambda path: b'{"type": "object",\n  "properties": [}'
    )
    [qv311] = [f for f in found if f.code == "QV311"]
    assert qv311.file == "schemas/configs/svc.schema.json"
    assert qv311.line == 2


def test_malformed_service_schema_keyword_is_qv311() -> None:
    doc = make_doc("dev", "Config", "svc", {"port": 1})
    found = validate_rendered(
        [make_env("dev", doc)], read=lambda path: b'{"properties": {"port": {"type": "strnig"}}}'
    )
    [qv311] = [f for f in found if f.code == "QV311"]
    assert "is not a valid JSON Schema" in qv311.message
    assert qv311.file == "schemas/configs/svc.schema.json"


def test_all_config_schema_errors_are_listed_with_paths() -> None:
    schema = (
        b'{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},'
        b' "required": ["c"]}'
    )
    doc = make_doc("dev", "Config", "svc", {"a": "x", "b": 1})
    found = validate_rendered([make_env("dev", doc)], read=lambda path: schema)
    fields = sorted(f.field for f in found if f.code == "QV310")
    assert fields == ["spec", "spec.a", "spec.b"]


def test_limits_compare_only_numbers_and_rates_as_floats() -> None:
    """Each pair: (strategy's, policy's); only the first pairs are above their caps."""
    big = 2**53
    pairs = {
        "max_gross_exposure": (5, float("-inf")),  # a cap of -inf: everything is above it
        "max_net_exposure": (float("inf"), 1e300),
        "daily_loss_limit": (True, 0),  # a bool is no number
        "max_order_notional": (big + 1, float(big)),  # compared as floats: equal
        "order_rate": (5, "1/1s"),  # a number is no rate
        "max_drawdown_pct": (float("nan"), 1),
    }
    strategy = {**STRATEGY, "limits": {field: mine for field, (mine, _) in pairs.items()}}
    policy = {"limits": {field: cap for field, (_, cap) in pairs.items()}}
    envelope = {"risk": {"limits": policy["limits"]}}
    env = make_env(
        "dev",
        make_doc("dev", "Strategy", "s", strategy),
        make_doc("dev", "RiskPolicy", "pol", policy),
        env_spec=envelope,
    )
    found = [(f.code, f.field) for f in validate_rendered([env]) if f.code in ("QV510", "QV511")]
    assert sorted(found) == [
        ("QV510", "spec.limits.max_gross_exposure"),
        ("QV510", "spec.limits.max_net_exposure"),
        ("QV511", "spec.limits.max_gross_exposure"),
        ("QV511", "spec.limits.max_net_exposure"),
    ]


LIST_SCHEMA = (
    b'{"type": "object", "properties": {"tokens": {"x-qv-secret": true},'
    b' "creds": {"type": "object", "x-qv-secret": true}}}'
)
ENC = "ENC[AES256_GCM,data:abc=,iv:aXY=,tag:dGFn,type:str]"


def _qv601(spec: dict[str, object]) -> list[str]:
    doc = make_doc("dev", "Config", "svc", spec)
    found = validate_rendered(
        [make_env("dev", doc)],
        read=lambda path: LIST_SCHEMA if path == "schemas/configs/svc.schema.json" else None,
    )
    return sorted(f.field for f in found if f.code == "QV601")


def test_a_secret_list_or_mapping_is_judged_leaf_by_leaf() -> None:
    """sops encrypts a secret list or mapping leaf by leaf: encrypted leaves are no plaintext,
    and a plaintext leaf is named by its own path."""
    assert _qv601({"tokens": [ENC, ENC], "creds": {"user": ENC, "pin": {"a": [ENC]}}}) == []
    assert _qv601({"tokens": [], "creds": {"user": None}}) == []
    assert _qv601({"tokens": [ENC, "plain"], "creds": {"user": ENC, "pin": 1234}}) == [
        "spec.creds.pin",
        "spec.tokens[1]",
    ]

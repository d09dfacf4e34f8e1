"""`qv flags eval | list` and `qv render --format unleash` end to end, bad input included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from qv_config.flags import compile_state
from tests.flags.conftest import REPO, git
from tests.inprocess import QvRun

Qv = Callable[..., QvRun]


def unleash_doc(qv: Qv, root: Path, env: str) -> dict[str, object]:
    done = qv(root, "render", "--env", env, "--format", "unleash")
    assert done.code == 0, done.err
    return json.loads(done.out)  # type: ignore[no-any-return]


def test_eval_says_why_with_the_bucket(qv: Qv, shared_project: Path) -> None:
    done = qv(shared_project, "flags", "eval", "market-data-v2", "--env", "prod",
              "-c", "desk=eu-eq", "-c", "instrumentId=AAPL")  # fmt: skip
    assert done.code == 0, done.err
    assert done.out.startswith("market-data-v2 in prod: ON")
    assert "bucket 9 of 100 (murmur3 of market-data-v2:AAPL) against rollout 25: pass" in done.out
    assert "segment eu-desks: desk IN [eu-eq, eu-fut, eu-fx]: 'eu-eq': pass" in done.out
    assert "depends on md-vendor-failover on: it is on: ok" in done.out


def test_eval_json_agrees_with_the_compiled_state(qv: Qv, shared_project: Path) -> None:
    state = compile_state(unleash_doc(qv, shared_project, "prod"))
    for notional in ("10", "2500000", "abc"):
        for desk in ("eu-fx", "us-eq"):
            done = qv(shared_project, "flags", "eval", "pre-trade-risk-v2", "--env", "prod",
                      "-c", f"desk={desk}", "-c", f"properties.orderNotional={notional}",
                      "--format", "json")  # fmt: skip
            assert done.code == 0, done.err
            result = json.loads(done.out)
            ctx = {"properties": {"desk": desk, "orderNotional": notional}}
            assert result["enabled"] is state.is_enabled("pre-trade-risk-v2", ctx)
            steps = result["strategies"][0]["constraints"]
            assert [s["context_name"] for s in steps] == ["orderNotional", "desk"]
            assert steps[1]["segment"] == "eu-desks"


def test_eval_variant_payload(qv: Qv, shared_project: Path) -> None:
    done = qv(shared_project, "flags", "eval", "vwap-curve-experiment", "--env", "dev",
              "-c", "strategyId=momentum-eu", "-f", "json")  # fmt: skip
    variant = json.loads(done.out)["variant"]
    assert variant["enabled"] is True
    assert variant["name"] in ("historical-curve", "ml-curve")
    assert json.loads(variant["payload"]["value"])["curve"] in ("historical", "ml-forecast")


def test_eval_reads_a_revision_and_a_store(
    qv: Qv, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(REPO / "keys" / "demo-dev.agekey"))
    store = f"sqlite:{project / 'state.db'}"
    synced = qv(project, "sync", "--env", "dev", "--store", store)
    assert synced.code == 0, synced.err
    flag = project / "templates/flag/ml-execution-selection.yaml"
    flag.write_text(flag.read_text().replace('rollout: "100"', 'rollout: "0"'))
    args = ("flags", "eval", "ml-execution-selection", "--env", "dev",
            "-c", "strategyId=s-1", "-f", "json")  # fmt: skip
    now = json.loads(qv(project, *args).out)["strategies"][0]["rule"]
    head = json.loads(qv(project, *args, "--rev", "HEAD").out)["strategies"][0]["rule"]
    stored = json.loads(qv(project, *args, "--store", store).out)["strategies"][0]["rule"]
    assert now["rollout"] == 0
    assert head["rollout"] == stored["rollout"] == 100
    assert head["bucket"] == stored["bucket"] == now["bucket"]


def test_list_side_by_side_and_stale(qv: Qv, project: Path) -> None:
    template = project / "templates/flag/market-data-v2.yaml"
    template.write_text(template.read_text().replace('"2027-03-31"', '"2020-01-31"'))
    done = qv(project, "flags", "list", "--env", "prod")
    assert done.code == 0, done.err
    header, *rows = done.out.splitlines()
    assert header.split()[:4] == ["flag", "type", "owner", "expires"]
    assert header.split()[-3:] == ["dev", "staging", "prod"]
    line = next(r for r in rows if r.startswith("market-data-v2"))
    assert "2020-01-31 STALE" in line
    assert "on: flexibleRollout 25% by instrumentId" in line
    assert rows[-1] == "stale (release flags past expires, QV450): market-data-v2"
    listed = json.loads(qv(project, "flags", "list", "--env", "prod", "-f", "json").out)
    assert listed["stale"] == ["market-data-v2"]
    row = next(r for r in listed["rows"] if r["name"] == "ml-execution-selection")
    assert [s["summary"] for s in row["states"]] == [
        "on: flexibleRollout 100% by strategyId",
        "on: flexibleRollout 50% by strategyId",
        "on: flexibleRollout 10% by strategyId",
    ]
    validated = qv(project, "validate", "--format", "json")
    codes = [f["code"] for f in json.loads(validated.out)["findings"]]
    assert codes.count("QV450") == 3
    assert "QV540" not in codes


def test_render_unleash_marks_stale_and_numbers_segments(qv: Qv, project: Path) -> None:
    template = project / "templates/flag/market-data-v2.yaml"
    template.write_text(template.read_text().replace('"2027-03-31"', '"2020-01-31"'))
    doc = unleash_doc(qv, project, "prod")
    features = {f["name"]: f for f in doc["features"]}  # type: ignore[attr-defined]
    assert features["market-data-v2"]["stale"] is True
    assert features["md-vendor-failover"]["type"] == "operational"
    assert doc["segments"] == [  # sorted by name: eu-desks 1, ml-pilot-strategies 2, us-desks 3
        {"id": 1, "name": "eu-desks", "constraints": [
            {"contextName": "desk", "operator": "IN", "values": ["eu-eq", "eu-fut", "eu-fx"]}]},
        {"id": 2, "name": "ml-pilot-strategies", "constraints": [
            {"contextName": "strategyId", "operator": "IN", "values": ["momentum-eu"]}]},
        {"id": 3, "name": "us-desks", "constraints": [
            {"contextName": "desk", "operator": "IN", "values": ["us-eq", "us-fut"]}]},
    ]  # fmt: skip
    weights = [v["weight"] for v in features["vwap-curve-experiment"]["variants"]]
    assert weights == [800, 200]


def test_bad_input(qv: Qv, project: Path) -> None:
    cases = {
        ("flags", "eval", "market-data", "--env", "prod"): "did you mean market-data-v2?",
        ("flags", "eval", "market-data-v2", "--env", "prod", "-c", "desk"): "is not KEY=VALUE",
        ("flags", "eval", "market-data-v2", "--env", "nope"): "unknown environment 'nope'",
        ("flags", "eval", "market-data-v2", "--env", "prod", "-f", "xml"): "unknown --format",
        ("flags", "eval", "x", "--env", "prod", "--rev", "HEAD", "--store", "sqlite:a.db"):
            "two sources",
        ("flags", "list", "--env", "nope"): "unknown environment 'nope'",
        ("render", "--env", "prod", "-f", "unleash", "flag/*"): "takes no selectors",
    }  # fmt: skip
    for args, message in cases.items():
        done = qv(project, *args)
        assert done.code == 2, (args, done.err)
        assert message in done.err, (args, done.err)
    missing = qv(project, "flags", "eval", "market-data-v2", "--env", "prod",
                 "--store", f"sqlite:{project / 'none.db'}")  # fmt: skip
    assert missing.code == 3, missing.err
    assert "no store" in missing.err
    assert not (project / "none.db").exists()


def test_a_flag_naming_an_undeclared_segment_is_refused(qv: Qv, project: Path) -> None:
    flag = project / "environments/prod/flags/market-data-v2.yaml"
    flag.write_text(flag.read_text().replace("segments: [eu-desks]", "segments: [apac-desks]"))
    done = qv(project, "render", "--env", "prod", "--format", "unleash")
    assert done.code == 2
    assert "segment 'apac-desks'" in done.err
    assert "QV504" in done.err
    assert done.out == ""
    evaluated = qv(project, "flags", "eval", "market-data-v2", "--env", "prod")
    assert evaluated.code == 2
    assert "apac-desks" in evaluated.err


def test_a_broken_flag_file_fails_with_its_finding(qv: Qv, project: Path) -> None:
    flag = project / "environments/prod/flags/market-data-v2.yaml"
    flag.write_text("apiVersion: qv/v1\nkind: Flag\nmetadata: {name: [\n")
    for args in (("render", "--env", "prod", "-f", "unleash"),
                 ("flags", "eval", "md-vendor-failover", "--env", "prod"),
                 ("flags", "list", "--env", "prod")):  # fmt: skip
        done = qv(project, *args)
        assert done.code == 1, (args, done.err)
        assert "market-data-v2.yaml" in done.err
    assert git(project, "status", "--porcelain")  # the edit is still there: nothing lost


def test_eval_escapes_what_it_quotes(qv: Qv, project: Path) -> None:
    flag = project / "environments/prod/flags/pre-trade-risk-v2.yaml"
    hostile = 'contextName: "order\\e[2JNotional"'  # YAML's \e: an ESC in the field's name
    flag.write_text(flag.read_text().replace("contextName: orderNotional", hostile))
    done = qv(project, "flags", "eval", "pre-trade-risk-v2", "--env", "prod",
              "-c", "desk=eu\u202eeq", "-c", "order\x1b[2JNotional=1")  # fmt: skip
    assert done.code == 0, done.err
    assert "\x1b" not in done.out
    assert "\u202e" not in done.out
    assert "order\\x1b[2JNotional NUM_GTE [2500000]: '1': FAIL" in done.out
    assert "desk IN [eu-eq, eu-fut, eu-fx]: 'eu\\u202eeq': FAIL" in done.out

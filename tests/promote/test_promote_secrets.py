"""Secrets in a promotion: never decrypted to be copied, ciphertext never copied between
environments (each has its own keys and MAC); a secret that differs is left to a person."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Qv = Callable[..., Any]
Repo = Any
OMS = "configs/order-management.yaml"


def _config_not_env_specific(project: Repo) -> None:
    text = project.read("qv.yaml")
    start = text.index("    # Where a service runs")
    end = text.index("spec.runtime]\n", start) + len("spec.runtime]\n")
    project.write("qv.yaml", text[:start] + text[end:])
    project.replace(f"environments/dev/{OMS}", "pool_size: 5", "pool_size: 7")
    project.commit("oms: a larger pool; Configs promoted whole")


def _secret_lines(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if "ENC[" in line]
    block = text[text.index("\nsops:") :]
    return [*lines, block]


def test_differing_secrets_are_left_to_people(project: Repo, qv: Qv) -> None:
    _config_not_env_specific(project)
    staging = f"environments/staging/{OMS}"
    before = project.read(staging)
    done = qv(project.root, "promote", "dev", "staging", "config/order-management", "-f", "json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    left = {(item["ref"], item["field"]) for item in data["by_hand"]}
    assert left == {
        ("config/order-management", "spec.database.password"),
        ("config/order-management", "spec.broker.password"),
    }
    assert all(f"qv secrets edit {staging}" in item["reason"] for item in data["by_hand"])
    after = project.git("show", f"{data['branch']}:{staging}") + "\n"
    assert "pool_size: 7" in after
    assert _secret_lines(after) == _secret_lines(before)  # staging's ciphertext and MAC kept
    dev_ciphertext = re.findall(r"ENC\[[^\]]+\]", project.read(f"environments/dev/{OMS}"))
    assert not any(value in after for value in dev_ciphertext)
    message = project.git("log", "-1", "--format=%B", data["branch"])
    assert "spec.database.password" in message
    assert "ENC[" not in message


def test_a_copied_document_leaves_its_secrets_out(project: Repo, qv: Qv) -> None:
    # A service dev has and staging has not: copied without ciphertext or sops block.
    dev = f"environments/dev/{OMS}"
    text = project.read(dev)
    project.write("environments/dev/configs/order-router.yaml",
                  text.replace("name: order-management", "name: order-router"))  # fmt: skip
    project.commit("dev: an order router")
    done = qv(project.root, "promote", "dev", "staging", "config/order-router", "--dry-run",
              "-f", "json")  # fmt: skip
    assert done.code == 0, done.err
    data = json.loads(done.out)
    (edit,) = data["edits"]
    assert edit["op"] == "create"
    assert "ENC[" not in edit["diff"]
    assert "sops:" not in edit["diff"]
    assert {i["field"] for i in data["by_hand"]} == {
        "spec.database.password",
        "spec.broker.password",
    }

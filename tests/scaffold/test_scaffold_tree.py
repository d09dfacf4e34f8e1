"""The repository's own configuration tree and the `qv init` starter tree are valid.

Stages that depend on modules built in parallel (schema models, renderer, `qv validate`) are
guarded by an import check that *skips* only while the module does not exist: once it exists, an
import error or a finding fails the test.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qv_config.scaffold import starter_files, write_starter
from qv_config.yamlio import load_bytes

REPO = Path(__file__).resolve().parents[2]
QV = REPO / ".venv" / "bin" / "qv"
TREE_DIRS = ("environments", "strategies", "templates")


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("starter")
    write_starter(dest)
    return dest


def _trees(starter: Path) -> dict[str, Path]:
    return {"repository": REPO, "starter": starter}


def _yaml_files(root: Path) -> Iterator[Path]:
    yield root / "qv.yaml"
    for top in TREE_DIRS:
        yield from sorted((root / top).rglob("*.yaml"))


def _module(name: str) -> ModuleType:
    """Import ``name``; skip while it does not exist yet, fail if it exists but is broken."""
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} has not landed yet")
    return importlib.import_module(name)


@pytest.mark.parametrize("which", ["repository", "starter"])
def test_every_yaml_file_loads_strictly(which: str, starter: Path) -> None:
    root = _trees(starter)[which]
    paths = list(_yaml_files(root))
    assert len(paths) > (100 if which == "repository" else 15)
    for path in paths:
        rel = path.relative_to(root).as_posix()
        doc = load_bytes(rel, path.read_bytes())
        assert isinstance(doc.data, dict), rel


def test_config_schemas_are_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schemas = sorted((REPO / "schemas" / "configs").glob("*.schema.json"))
    assert {p.name.removesuffix(".schema.json") for p in schemas} == {
        "configuration-service",
        "strategy-management",
        "risk-service",
        "portfolio-coordinator",
        "execution-strategy",
        "order-management",
        "market-data",
    }
    for path in schemas:
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_secret_fields_are_marked_and_only_ever_ciphertext() -> None:
    """The schemas mark secret fields; every such value in the tree is SOPS ciphertext."""
    text = (REPO / "schemas/configs/order-management.schema.json").read_text()
    assert '"x-qv-secret": true' in text
    seen = 0
    for path in (REPO / "environments").rglob("configs/*.yaml"):
        for line in path.read_text().splitlines():
            key = line.strip().split(":", 1)[0]
            if key in ("password", "api_key"):
                seen += 1
                assert "ENC[AES256_GCM," in line, f"{path}: plaintext secret on {line.strip()!r}"
    assert seen >= 12, "the service configs hold encrypted secrets in every environment"


def test_evidence_hashes_match_the_reports() -> None:
    for path in sorted((REPO / "strategies").glob("*.yaml")):
        spec: dict[str, Any] = load_bytes(path.name, path.read_bytes()).data["spec"]
        evidence = spec.get("evidence")
        if evidence is None:
            assert spec["lifecycle"] in ("draft",), f"{path.name}: only drafts lack evidence"
            continue
        report = REPO / evidence["backtest_report"]
        assert hashlib.sha256(report.read_bytes()).hexdigest() == evidence["sha256"], path.name
        assert evidence["max_drawdown_pct"] <= spec["limits"]["max_drawdown_pct"], path.name


@pytest.mark.parametrize("which", ["repository", "starter"])
def test_rendered_documents_pass_the_kind_schemas(which: str, starter: Path) -> None:
    check = _module("qv_config.models.checking").check
    engine = _module("qv_config.render.engine")
    from qv_config.repo import WorkTreeSource, load_snapshot

    snapshot = load_snapshot(WorkTreeSource(_trees(starter)[which]))
    assert not snapshot.findings, snapshot.findings
    for env in snapshot.env_names:
        rendered = engine.render_environment(snapshot, env)
        assert not rendered.findings, rendered.findings
        for doc in rendered.docs.values():
            assert check(doc.kind, dict(doc.data)) == [], doc.key


@pytest.mark.parametrize("which", ["repository", "starter"])
def test_qv_validate_passes(which: str, starter: Path) -> None:
    _module("qv_config.validate.api")
    root = _trees(starter)[which]
    proc = subprocess.run(
        [str(QV), "-C", str(root), "validate", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert report["findings"] == [], report["findings"]


def test_starter_has_the_promised_shape() -> None:
    paths = set(starter_files())
    for expected in (
        "qv.yaml",
        "environments/dev/environment.yaml",
        "environments/staging/environment.yaml",
        "environments/prod/environment.yaml",
        "schemas/configs/example-service.schema.json",
        "strategies/example-momentum.yaml",
        "templates/service/base.yaml",
        "templates/service/python.yaml",
    ):
        assert expected in paths
    assert not any("__pycache__" in p or p.startswith(".qv/") for p in paths)

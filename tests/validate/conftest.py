"""Helpers for validation tests: real case trees copied to tmp dirs, the CLI run in-process, and a
small factory of rendered documents for testing rules without the renderer."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from qv_config.cli.__main__ import main
from qv_config.render.types import KIND_SLUGS, Layer, Location, RenderedDoc, RenderedEnv
from qv_config.validate import ValidationResult
from qv_config.yamlio import LoadedDoc, Mark

CASES = Path(__file__).parent / "cases"


def same_result(a: ValidationResult, b: ValidationResult) -> None:
    """Two runs report the same: findings, counts, environments, files and documents."""
    assert (a.findings, a.errors, a.warnings, a.environments, a.files, a.documents) == (
        b.findings,
        b.errors,
        b.warnings,
        b.environments,
        b.files,
        b.documents,
    )


def run_qv(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``qv ARGS`` in-process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as stop:
        main(args)
    out = capsys.readouterr()
    return int(stop.value.code or 0), out.out, out.err


@pytest.fixture
def case_tree(tmp_path: Path) -> Callable[[str], Path]:
    """Copy of a case folder in a fresh tmp dir (tests may edit it, and the cache lands there)."""

    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(CASES / name, dest, ignore=shutil.ignore_patterns("expect.yaml", ".qv"))
        return dest

    return copy


@pytest.fixture
def qv(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def call(*args: str) -> tuple[int, str, str]:
        return run_qv(list(args), capsys)

    return call


def json_findings(stdout: str) -> list[dict[str, Any]]:
    return list(json.loads(stdout)["findings"])


def make_doc(
    env: str, kind: str, name: str, spec: Mapping[str, Any], file: str | None = None
) -> RenderedDoc:
    """A rendered document whose every field is located at line 1 of ``file``."""
    path = file or f"environments/{env}/{KIND_SLUGS[kind]}/{name}.yaml"
    data = {"apiVersion": "qv/v1", "kind": kind, "metadata": {"name": name}, "spec": dict(spec)}
    loaded = LoadedDoc(path=path, data=data, text="", digest=f"{path}:{hash(str(data))}")
    return RenderedDoc(
        env,
        kind,
        name,
        data,
        (Layer("document", path, loaded),),
        lambda _path: Location(path, Mark(1, 1)),
    )


def make_env(
    env: str, *docs: RenderedDoc, tier: str = "dev", env_spec: Mapping[str, Any] | None = None
) -> RenderedEnv:
    spec = {"tier": tier, "capital": 1_000_000, **(env_spec or {})}
    all_docs = [make_doc(env, "Environment", env, spec), *docs]
    return RenderedEnv(env, {d.key: d for d in sorted(all_docs, key=lambda d: d.key)}, ())

"""qv.yaml on a warm load: read from the parse cache without building the pydantic model, the
model still there when asked for, and every edit of qv.yaml seen (its digest is the key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.starter import aged_starter

from qv_config.repo import WorkTreeSource, load_snapshot


def test_warm_load_takes_project_info_from_the_cache(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    first = load_snapshot(WorkTreeSource(tmp_path))
    assert "project" in first.__dict__  # built while loading, handed over
    second = load_snapshot(WorkTreeSource(tmp_path))
    assert second.project_info == first.project_info
    assert "project" not in second.__dict__  # not built: nothing asked for it yet
    assert second.project == first.project  # built on first use
    assert second.env_names == ["dev", "staging", "prod"]


def test_an_edited_qv_yaml_is_validated_again(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    load_snapshot(WorkTreeSource(tmp_path))
    qv_yaml = tmp_path / "qv.yaml"
    qv_yaml.write_text(qv_yaml.read_text().replace("environments: [dev, staging, prod]", "x: 1"))
    broken = load_snapshot(WorkTreeSource(tmp_path))
    assert broken.project_info is None
    assert broken.project is None
    assert [f.code for f in broken.findings] == ["QV205"]


def test_a_warm_validate_imports_neither_pydantic_nor_jinja(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    probe = (
        "import sys\n"
        "from qv_config.cli.__main__ import main\n"
        "try:\n"
        f"    main(['-C', {str(tmp_path)!r}, 'validate'])\n"
        "except SystemExit as stop:\n"
        "    assert stop.code == 0, stop.code\n"
        "heavy = ('pydantic', 'jinja2', 'qv_config.secrets', 'qv_config.models.project')\n"
        "sys.stderr.write(' '.join(m for m in heavy if m in sys.modules))\n"
    )
    cold = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "pydantic" in cold.stderr  # the first run builds the model and checks documents
    warm = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert warm.stderr == ""


def test_an_invalid_qv_yaml_is_reported_at_the_field(tmp_path: Path) -> None:
    aged_starter(tmp_path)
    qv_yaml = tmp_path / "qv.yaml"
    text = qv_yaml.read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("spec:")) + 2  # 1-based
    for inserted, col, path in (
        ("  bogus: 1", 3, "spec.bogus"),  # an unknown field: at its key
        ("  limits: {max_render_bytes: -5}", 30, "spec.limits.max_render_bytes"),
    ):
        qv_yaml.write_text(text.replace("spec:\n", f"spec:\n{inserted}\n", 1))
        (found,) = load_snapshot(WorkTreeSource(tmp_path)).findings
        assert (found.code, found.line, found.col) == ("QV205", at, col), found
        assert f"invalid at {path}:" in found.message

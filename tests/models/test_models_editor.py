"""Editor support: the editor schemas (no `required`, the rest exact) give no error on any
document, overlay or template of this repository or of `qv init`'s tree, and still catch a
misspelt field; `.vscode/settings.json` associates them (other settings kept); `qv schema export
--check` fails when the schemas or the settings are stale and `qv schema export` repairs both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from qv_config.models.editor import (
    CUSTOM_TAGS,
    GLOBS,
    editor_schema,
    schema_associations,
    settings_text,
)
from qv_config.yamlio import load_bytes

REPO = Path(__file__).resolve().parents[2]
QV = str(Path(sys.executable).with_name("qv"))


def _qv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([QV, *args], capture_output=True, text=True, timeout=60, check=False)


def _walk(node: Any) -> list[Any]:
    out = [node]
    if isinstance(node, dict):
        for value in node.values():
            out += _walk(value)
    elif isinstance(node, list):
        for value in node:
            out += _walk(value)
    return out


@pytest.mark.parametrize("kind", sorted(GLOBS))
def test_editor_schemas_drop_required_and_stay_valid(kind: str) -> None:
    schema = editor_schema(kind)
    assert "$id" not in schema  # a local file: relative to where it lies, never fetched
    assert not any(
        isinstance(n, dict) and isinstance(n.get("required"), list) for n in _walk(schema)
    )
    jsonschema.Draft202012Validator.check_schema(schema)


def _errors(root: Path) -> tuple[int, list[str]]:
    checked, errors = 0, []
    for schema_path, globs in schema_associations().items():
        validator = jsonschema.Draft202012Validator(json.loads((root / schema_path).read_text()))
        for glob in globs:
            for file in sorted(root.glob(glob)):
                checked += 1
                data = load_bytes(file.name, file.read_bytes()).data
                errors += [f"{file}: {e.message}" for e in validator.iter_errors(data)]
    return checked, errors


def test_no_false_error_on_this_repository() -> None:
    checked, errors = _errors(REPO)
    assert checked > 100
    assert errors == []


def test_no_false_error_on_a_qv_init_tree(tmp_path: Path) -> None:
    assert _qv("init", str(tmp_path / "t")).returncode == 0
    checked, errors = _errors(tmp_path / "t")
    assert checked >= 15
    assert errors == []


def test_a_partial_overlay_passes_and_a_misspelt_field_fails() -> None:
    validator = jsonschema.Draft202012Validator(editor_schema("Strategy"))
    overlay = {"spec": {"activation": "active", "allocation": {"current_stage": "full"}}}
    assert not list(validator.iter_errors(overlay))
    typo = {"spec": {"limits": {"max_order_notionl": 1}}}
    assert any("max_order_notionl" in e.message for e in validator.iter_errors(typo))
    wrong = {"spec": {"lifecycle": "alive"}}
    assert list(validator.iter_errors(wrong))


def test_settings_keep_other_entries_and_are_idempotent() -> None:
    mine = schema_associations()
    current = json.dumps(
        {
            "editor.tabSize": 2,
            "yaml.schemas": {"./other.json": ["x/*.yaml"], next(iter(mine)): ["stale/*.yaml"]},
            "yaml.customTags": ["!Ref scalar", CUSTOM_TAGS[0]],
        }
    )
    merged = json.loads(settings_text(current))
    assert merged["editor.tabSize"] == 2
    assert merged["yaml.schemas"] == {"./other.json": ["x/*.yaml"], **mine}
    assert merged["yaml.customTags"] == ["!Ref scalar", *CUSTOM_TAGS]
    assert settings_text(settings_text(current)) == settings_text(current)
    with pytest.raises(ValueError, match="not a JSON object"):
        settings_text("[1, 2]")
    with pytest.raises(json.JSONDecodeError):
        settings_text("{ // a comment\n}")


def test_init_writes_settings_and_check_catches_staleness(tmp_path: Path) -> None:
    root = tmp_path / "t"
    (root / ".vscode").mkdir(parents=True)
    (root / ".vscode/settings.json").write_text('{"editor.rulers": [100]}\n')
    assert _qv("init", str(root)).returncode == 0
    settings = json.loads((root / ".vscode/settings.json").read_text())
    assert settings["editor.rulers"] == [100]  # kept
    assert settings["yaml.schemas"] == schema_associations()
    assert "redhat.vscode-yaml" in (root / ".vscode/extensions.json").read_text()
    assert _qv("-C", str(root), "schema", "export", "--check").returncode == 0
    settings["yaml.schemas"].popitem()
    (root / ".vscode/settings.json").write_text(json.dumps(settings))
    stale = _qv("-C", str(root), "schema", "export", "--check")
    assert stale.returncode == 1
    assert ".vscode/settings.json" in stale.stderr
    assert "run `qv schema export`" in stale.stderr
    editor = root / "schemas/qv/editor/flag.schema.json"
    editor.write_text(editor.read_text().replace("kill-switch", "kill"))
    stale = _qv("-C", str(root), "schema", "export", "--check")
    assert "editor/flag.schema.json" in stale.stderr
    assert _qv("-C", str(root), "schema", "export").returncode == 0
    assert _qv("-C", str(root), "schema", "export", "--check").returncode == 0


def test_settings_qv_cannot_read_are_an_error_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "t"
    assert _qv("init", str(root)).returncode == 0
    jsonc = '{\n  // my settings\n  "editor.tabSize": 2\n}\n'
    (root / ".vscode/settings.json").write_text(jsonc)
    check = _qv("-C", str(root), "schema", "export", "--check")
    assert check.returncode == 1
    export = _qv("-C", str(root), "schema", "export")
    assert export.returncode == 3
    assert "not plain JSON" in export.stderr
    assert (root / ".vscode/settings.json").read_text() == jsonc  # nothing lost
    assert "Traceback" not in export.stderr


def test_out_leaves_the_settings_alone(tmp_path: Path) -> None:
    root = tmp_path / "t"
    assert _qv("init", str(root)).returncode == 0
    (root / ".vscode/settings.json").write_text("{}\n")
    refused = _qv("-C", str(root), "schema", "export", "--out", "build/s", "--vscode")
    assert refused.returncode == 2
    assert "--vscode" in refused.stderr
    done = _qv("-C", str(root), "schema", "export", "--out", "build/s")
    assert done.returncode == 0, done.stderr
    assert (root / ".vscode/settings.json").read_text() == "{}\n"
    assert (root / "build/s/editor/strategy.schema.json").is_file()

"""Schemas and settings for editors (yaml-language-server: VS Code, Neovim, JetBrains, ...).

The exported schemas (``schemas/qv/<slug>.schema.json``) are exact: a document must hold every
required field. In an editor that is wrong for most files: an overlay, a template and a document
that ``extends`` one are partial by design, their required fields set by another layer. The
editor schemas (``schemas/qv/editor/<slug>.schema.json``) are the same schemas with no
``required``: completion, descriptions, enums, types and unknown (misspelt) fields all work while
typing; what must be present is ``qv validate``'s to say, which knows the inheritance.

``.vscode/settings.json`` associates them with the folders of a qv repository (``yaml.schemas``)
and declares qv's ``!replace`` tag (``yaml.customTags``); other settings in the file are kept.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qv_config.models.kinds import ALL_KINDS, slugs

EDITOR_DIR = "editor"  # under the schemas folder (schemas/qv/editor/)
SETTINGS = ".vscode/settings.json"
CUSTOM_TAGS = ("!replace mapping", "!replace sequence")

# Where each kind's documents, overlays and templates live in a qv repository (qv init's tree
# and SPEC §1); a file elsewhere can name its schema with a modeline (docs/integrations.md).
GLOBS: dict[str, tuple[str, ...]] = {
    "Project": ("qv.yaml",),
    "Environment": ("environments/*/environment.yaml",),
    "Config": ("environments/*/configs/**/*.yaml", "templates/service/**/*.yaml"),
    "Flag": ("environments/*/flags/**/*.yaml", "templates/flag/**/*.yaml"),
    "Strategy": (
        "strategies/**/*.yaml",
        "environments/*/strategies/**/*.yaml",
        "templates/strategy/**/*.yaml",
    ),
    "RiskPolicy": ("environments/*/risk-policies/**/*.yaml", "templates/risk/**/*.yaml"),
    "ExecutionPolicy": (
        "environments/*/execution-policies/**/*.yaml",
        "templates/execution/**/*.yaml",
    ),
}


def editor_schema(kind: str) -> dict[str, Any]:
    """The schema of ``kind`` without ``required`` (and without ``$id``: a local file)."""
    from qv_config.models.schema import kind_schema

    schema: dict[str, Any] = _lenient(kind_schema(kind))
    schema.pop("$id", None)
    # An encrypted file carries sops' metadata beside the envelope (qv reads the file without it).
    schema["properties"] = {**schema.get("properties", {}), "sops": _SOPS_BLOCK}
    schema["title"] = f"{kind} (editor: required fields are checked by qv validate)"
    return schema


_SOPS_BLOCK = {"type": "object", "description": "SOPS metadata, written by sops: do not edit"}


def _lenient(node: Any) -> Any:
    if isinstance(node, dict):
        # A property may be called "required": only a list of names is the keyword.
        return {k: _lenient(v) for k, v in node.items() if not _is_required(k, v)}
    if isinstance(node, list):
        return [_lenient(item) for item in node]
    return node


def _is_required(key: str, value: Any) -> bool:
    return key == "required" and isinstance(value, list)


def editor_files() -> dict[str, str]:
    """Path under the schemas folder -> exact text: ``editor/<slug>.schema.json`` per kind."""
    from qv_config.models.schema import render_schema

    table = slugs()
    return {
        f"{EDITOR_DIR}/{table[kind]}.schema.json": render_schema(editor_schema(kind))
        for kind in ALL_KINDS
    }


def schema_associations(schemas_dir: str = "schemas/qv") -> dict[str, list[str]]:
    """``yaml.schemas`` of qv: ``./<schemas_dir>/editor/<slug>.schema.json`` -> its globs."""
    table = slugs()
    return {
        f"./{schemas_dir}/{EDITOR_DIR}/{table[kind]}.schema.json": list(globs)
        for kind, globs in GLOBS.items()
    }


def settings_text(current: str | None, schemas_dir: str = "schemas/qv") -> str:
    """``.vscode/settings.json`` with qv's associations and tags in it, the rest of ``current``
    kept (``ValueError`` when ``current`` is not a JSON object: comments, say)."""
    settings: dict[str, Any] = {}
    if current is not None and current.strip():
        loaded = json.loads(current)
        if not isinstance(loaded, dict):
            raise ValueError("not a JSON object")
        settings = loaded
    mine = schema_associations(schemas_dir)
    others = settings.get("yaml.schemas")
    others = {k: v for k, v in others.items() if k not in mine} if isinstance(others, dict) else {}
    tags = settings.get("yaml.customTags")
    tags = [t for t in tags if t not in CUSTOM_TAGS] if isinstance(tags, list) else []
    settings["yaml.schemas"] = {**others, **mine}
    settings["yaml.customTags"] = [*tags, *CUSTOM_TAGS]
    return json.dumps(settings, indent=2, ensure_ascii=False) + "\n"


def settings_stale(root: Path) -> bool:
    """Whether ``root/.vscode/settings.json`` exists and lacks qv's entries as they are now (a
    file qv cannot read as JSON counts as stale: its entries cannot be seen)."""
    path = root / SETTINGS
    if not path.is_file() or path.is_symlink():
        return path.is_symlink()
    current = path.read_text(encoding="utf-8")
    try:
        return bool(json.loads(settings_text(current)) != json.loads(current))
    except ValueError:
        return True


def write_settings(root: Path) -> Path:
    """Write qv's entries into ``root/.vscode/settings.json`` (created when missing)."""
    from qv_config.errors import OperationalError
    from qv_config.models.schema import replace_file

    path = root / SETTINGS
    current = None if path.is_symlink() or not path.is_file() else path.read_text("utf-8")
    try:
        text = settings_text(current)
    except ValueError:
        raise OperationalError(
            f"{path} is not plain JSON (comments?), so qv cannot update it",
            hint=f"add the yaml.schemas entries of docs/integrations.md by hand, or remove {path}",
        ) from None
    try:
        return replace_file(path, text)
    except OSError as err:
        raise OperationalError(
            f"cannot write {path}: {err.strerror or err}", hint="check that it is writable"
        ) from None

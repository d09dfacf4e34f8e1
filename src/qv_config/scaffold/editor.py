"""What ``qv init`` writes for editors beside the starter tree: the exported JSON Schemas
(``schemas/qv/``, with their editor variants) and VS Code's ``.vscode/settings.json``
(``yaml.schemas``), plus a recommendation of the YAML extension that reads them."""

from __future__ import annotations

from pathlib import Path

EXTENSIONS = ".vscode/extensions.json"
_RECOMMEND = '{\n  "recommendations": ["redhat.vscode-yaml"]\n}\n'


def write_editor_support(dest: Path) -> list[Path]:
    """Write the schemas and the editor settings into ``dest``; returns the files written.
    Settings already there are kept (qv's entries are merged in); so is an extensions file."""
    from qv_config.models import export_schemas
    from qv_config.models.editor import write_settings
    from qv_config.models.schema import replace_file

    written = [*export_schemas(dest / "schemas" / "qv"), write_settings(dest)]
    extensions = dest / EXTENSIONS
    if not extensions.exists() and not extensions.is_symlink():
        written.append(replace_file(extensions, _RECOMMEND))
    return written

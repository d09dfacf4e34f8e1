"""Where Unleash's client-specification files are: ``$QV_UNLEASH_SPEC_DIR``, else
``<repository>/../shared/unleash-client-specification/specifications`` (never copied into the
project). Under ``CI=true`` a missing folder fails the run; elsewhere its tests skip."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def spec_dir() -> Path | None:
    configured = os.environ.get("QV_UNLEASH_SPEC_DIR")
    folder = (
        Path(configured)
        if configured
        else REPO.parent / "shared" / "unleash-client-specification" / "specifications"
    )
    return folder if folder.is_dir() else None


def spec_files() -> list[Path]:
    folder = spec_dir()
    return sorted(folder.glob("*.json")) if folder else []


def require_specs() -> list[Path]:
    files = spec_files()
    if files:
        return files
    message = (
        "Unleash client specification not found: set QV_UNLEASH_SPEC_DIR or put it at "
        "<repo>/../shared/unleash-client-specification/specifications"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
    raise AssertionError  # unreachable


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]

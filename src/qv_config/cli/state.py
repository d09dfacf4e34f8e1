"""Global CLI options shared by every command (set by the root callback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class GlobalOptions:
    verbose: bool = False
    project_dir: Path | None = None

    def start_dir(self) -> Path:
        return self.project_dir if self.project_dir is not None else Path.cwd()


OPTIONS = GlobalOptions()

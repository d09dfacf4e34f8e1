"""What the agent is told (``AgentConfig``) and what one cycle ends in (``CycleResult``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["applied", "idle", "waiting", "standby", "refused", "error"]
_EXIT = {"applied": 0, "idle": 0, "waiting": 1, "standby": 3, "refused": 1, "error": 3}


@dataclass(frozen=True)
class AgentConfig:
    env: str
    source: str
    branch: str
    store_url: str | None
    interval: float
    self_heal: bool
    lease_ttl: float
    cache_dir: Path
    workdir: Path  # relative sqlite: paths are taken from here
    max_backoff: float = 60.0


@dataclass(frozen=True)
class CycleResult:
    status: Status
    revision: str | None = None  # deployed after the cycle
    message: str = ""
    kind: str = ""  # error kind: git, store, render
    usage: bool = False  # the command line is wrong (unknown branch): exit 2 with --once

    @property
    def exit_code(self) -> int:
        return 2 if self.usage else _EXIT[self.status]

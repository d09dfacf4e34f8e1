"""``qv flags list``: every flag of one environment with its state in every environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from qv_config.flags.source import EnvFlags
from qv_config.flags.unleash import is_stale


@dataclass(frozen=True)
class EnvState:
    env: str
    present: bool
    enabled: bool
    summary: str  # "on: flexibleRollout 25% by instrumentId", "off", "absent"


@dataclass(frozen=True)
class FlagRow:
    name: str
    type: str
    owner: str | None
    expires: str | None
    stale: bool
    states: tuple[EnvState, ...]


@dataclass(frozen=True)
class FlagListing:
    env: str
    envs: tuple[str, ...]
    rows: tuple[FlagRow, ...]

    @property
    def stale(self) -> tuple[str, ...]:
        return tuple(row.name for row in self.rows if row.stale)


def listing(env: str, per_env: Mapping[str, EnvFlags], today: date) -> FlagListing:
    """The flags of ``env``, each with its state in every environment of ``per_env``."""
    rows = []
    for doc in sorted(per_env[env].flags, key=_name):
        spec, metadata = doc.get("spec") or {}, doc.get("metadata") or {}
        expires = spec.get("expires")
        rows.append(
            FlagRow(
                _name(doc),
                str(spec.get("type")),
                spec.get("owner") or metadata.get("owner"),
                str(expires) if expires is not None else None,
                is_stale(spec, today),
                tuple(_state(name, flags, _name(doc)) for name, flags in per_env.items()),
            )
        )
    return FlagListing(env, tuple(per_env), tuple(rows))


def _name(doc: Mapping[str, Any]) -> str:
    return str((doc.get("metadata") or {}).get("name"))


def _state(env: str, flags: EnvFlags, name: str) -> EnvState:
    doc = flags.flag(name)
    if doc is None:
        return EnvState(env, False, False, "absent")
    spec = doc.get("spec") or {}
    if not spec.get("enabled"):
        return EnvState(env, True, False, "off")
    listed = [s for s in spec.get("strategies") or [] if not s.get("disabled")]
    parts = [_strategy(s) for s in listed] or ["everyone"]
    return EnvState(env, True, True, "on: " + "; ".join(parts))


def _strategy(strategy: Mapping[str, Any]) -> str:
    params = strategy.get("parameters") or {}
    text = str(strategy.get("name"))
    pct = params.get("rollout", params.get("percentage"))
    if pct is not None:
        text += f" {pct}%"
    if params.get("stickiness") not in (None, "default"):
        text += f" by {params['stickiness']}"
    constraints = len(strategy.get("constraints") or [])
    if constraints:
        text += f", {constraints} constraint{'s' if constraints > 1 else ''}"
    if strategy.get("segments"):
        text += f", segments {', '.join(map(str, strategy['segments']))}"
    return text

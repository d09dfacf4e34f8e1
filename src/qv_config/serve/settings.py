"""What ``create_app`` is told besides the client: the environment, tokens, secret marks, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qv_config.serve.masking import SecretMarks
from qv_config.serve.tokens import NO_TOKENS, Tokens

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

MAX_BODY = 64 * 1024  # request bodies: OFREP contexts, Unleash metrics and registrations
MAX_WAIT = 60.0  # the longest a change-feed request waits for the next apply, in seconds


@dataclass(frozen=True)
class Settings:
    env: str
    tokens: Tokens = NO_TOKENS
    marks: SecretMarks = field(default_factory=lambda: SecretMarks(None))
    max_body: int = MAX_BODY
    max_wait: float = MAX_WAIT
    registry: CollectorRegistry | None = None  # /metrics; None: a registry of the app's own
    access_log: bool = True

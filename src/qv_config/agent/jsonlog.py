"""JSON-line logs: one object per line (ts, level, event, env, …) for log shippers.

Fields are what the agent decides to log: revisions, digests, key names and counts, never a
value from the store (values may hold decrypted secrets). Errors are logged by what the agent
says of them (``said``): a refused state by the places and codes of its findings, never their
messages, which may quote a document's value. Every text field is still escaped and bounded
(``qv_config.safetext``), as everything qv prints: key names and error texts come from the
repository and the store, and a log line is read in terminals and log viewers.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import IO

from qv_config.errors import QvError, StateRefused
from qv_config.safetext import MESSAGE, NAME, bounded, safe


def said(err: QvError) -> str:
    """What the agent logs, answers on /healthz and audits of an error: a refused state by its
    places (``StateRefused.located``), anything else by its message and hint, bounded."""
    text = err.located if isinstance(err, StateRefused) else str(err)
    return bounded(text, 2 * MESSAGE, NAME)


def _field(value: object) -> object:
    if isinstance(value, str):
        return bounded(value, 2 * MESSAGE, NAME)
    if isinstance(value, list | tuple):
        return [safe(item) if isinstance(item, str) else _field(item) for item in value]
    return value


class JsonLog:
    def __init__(self, stream: IO[str], env: str) -> None:
        self._stream = stream
        self._env = env
        self._lock = threading.Lock()

    def __call__(self, level: str, event: str, **fields: object) -> None:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "event": event,
            "env": self._env,
            **{k: _field(v) for k, v in fields.items() if v is not None},
        }
        line = json.dumps(record, sort_keys=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

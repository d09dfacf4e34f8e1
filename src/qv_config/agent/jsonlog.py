"""JSON-line logs: one object per line (ts, level, event, env, …) for log shippers.

Fields are what the agent decides to log: revisions, digests, key names and counts, never a
value from the store (values may hold decrypted secrets).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import IO


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
            **{k: v for k, v in fields.items() if v is not None},
        }
        line = json.dumps(record, sort_keys=False, default=str)
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

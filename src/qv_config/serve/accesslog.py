"""The access log: one JSON line per request on stderr, written in batches.

Through ``logging`` a line cost a record, a handler lock and a flush (a write system call) per
request — about 40 % of the server's throughput under load (``benchmarks/bench_serve.py``
with and without ``--no-access-log``). Lines are kept in memory and written together a moment
later (``DELAY``) or as soon as ``BATCH`` of them wait, so a quiet server still shows each request
within a fraction of a second, and the application's shutdown writes what is left.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import BinaryIO

import orjson

BATCH = 256  # lines kept before they are written anyway
DELAY = 0.2  # seconds a line may wait for others before it is written


class AccessLog:
    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream
        self._lines: list[bytes] = []
        self._second = -1
        self._stamp = ""

    def write(self, line: dict[str, object]) -> None:
        """Keep ``line`` (``time`` is added) and arrange for it to be written soon."""
        self._lines.append(orjson.dumps({"time": self._now(), **line}))
        if len(self._lines) >= BATCH:
            self.flush()
        elif len(self._lines) == 1:
            try:
                asyncio.get_running_loop().call_later(DELAY, self.flush)
            except RuntimeError:  # no event loop (a direct call): nothing would flush later
                self.flush()

    def flush(self) -> None:
        if not self._lines:
            return
        data, self._lines = b"\n".join(self._lines) + b"\n", []
        stream = self._stream if self._stream is not None else sys.stderr.buffer
        try:
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: the request was still answered
            pass

    def _now(self) -> str:
        """UTC time with milliseconds; the formatted second is reused within that second."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._stamp}.{int((now - second) * 1000):03d}+00:00"

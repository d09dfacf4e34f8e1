"""A ConfigClient in its own process, for the tests that freeze it (SIGSTOP) while the store
changes behind it: prints one JSON line per client update and per log line of the client.

    python follow_child.py STORE_URL ENV ROOT
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from qv_config.client import ConfigClient


class Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        say({"log": record.levelname.lower(), "message": record.getMessage()})


def say(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main() -> None:
    url, env, root = sys.argv[1:4]
    log = logging.getLogger("qv_config.client")
    log.setLevel(logging.INFO)
    log.addHandler(Lines())
    client = ConfigClient(url, env, root=Path(root), check_interval=0.5, max_backoff=0.5)
    client.subscribe(lambda u: say({"event": u.event, "revision": u.revision}))
    say({"event": "ready", "revision": client.revision})
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()

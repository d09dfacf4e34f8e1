"""Running the application under uvicorn: the loopback rule, TLS, logs as JSON lines."""

from __future__ import annotations

import ipaddress
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qv_config.errors import UsageError


@dataclass(frozen=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 8080
    certfile: Path | None = None
    keyfile: Path | None = None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve anywhere


def check_listen(listen: Listen, tokens_configured: bool) -> None:
    """Without tokens only loopback may be bound (anyone who reaches the port reads)."""
    if not tokens_configured and not is_loopback(listen.host):
        raise UsageError(
            f"--host {listen.host} is not a loopback address and no --tokens file is given:"
            " anyone who reaches the port could read the configuration",
            hint="pass --tokens FILE (see `qv serve --add-token`), or serve on 127.0.0.1",
        )
    if (listen.certfile is None) != (listen.keyfile is None):
        raise UsageError("--certfile and --keyfile go together", hint="give both, or neither")
    for path in (listen.certfile, listen.keyfile):
        if path is not None and not path.is_file():
            raise UsageError(f"{path} is not a readable file")
    if not 0 <= listen.port <= 65535:
        raise UsageError(f"--port {listen.port} is not a TCP port (0-65535)")


class JsonLines(logging.Formatter):
    """One JSON object per line, as the access lines (accesslog.py) are."""

    def format(self, record: logging.LogRecord) -> str:
        import orjson

        message = record.getMessage()
        return orjson.dumps({"level": record.levelname.lower(), "logger": record.name,
                             "message": message}).decode()  # fmt: skip


def log_config() -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    quiet = {"handlers": ["stderr"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLines}},
        "handlers": {"stderr": handler},
        "loggers": {"uvicorn": quiet, "uvicorn.error": quiet, "qv_config": quiet,
                    "uvicorn.access": {"handlers": [], "propagate": False}},
    }  # fmt: skip


def serve(app: Any, listen: Listen, announce: str) -> None:
    """Run ``app`` until SIGINT/SIGTERM."""
    import gc

    import uvicorn

    print(announce, file=sys.stderr, flush=True)
    # Everything imported and loaded so far lives as long as the process: out of the collector's
    # sight, a full collection walks only what requests allocate (a tail-latency pause less).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=listen.host,
        port=listen.port,
        ssl_certfile=str(listen.certfile) if listen.certfile else None,
        ssl_keyfile=str(listen.keyfile) if listen.keyfile else None,
        log_config=log_config(),
        access_log=False,  # qv's own access lines (accesslog.py), JSON, with the token's name
        server_header=False,
        proxy_headers=False,  # the access log names the peer, not what a header claims
        loop=_best("uvloop", "auto"),
        http=_best("httptools", "auto"),
        lifespan="on",
    )


def _best(module: str, fallback: str) -> str:
    import importlib.util

    return module if importlib.util.find_spec(module) else fallback

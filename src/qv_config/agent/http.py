"""``/metrics`` (Prometheus text format) and ``/healthz`` (JSON) on one port, in a daemon thread."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qv_config.agent.health import Health
from qv_config.agent.metrics import Metrics
from qv_config.errors import OperationalError


def _handler(metrics: Metrics, health: Health) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                from prometheus_client import CONTENT_TYPE_LATEST

                self._send(200, CONTENT_TYPE_LATEST, metrics.render())
            elif path == "/healthz":
                view = health.view()
                body = json.dumps(view.body, sort_keys=True).encode()
                self._send(view.code, "application/json", body)
            else:
                self._send(404, "text/plain", b"not found: try /metrics or /healthz\n")

        def _send(self, code: int, ctype: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # scrapes every few seconds would drown the JSON log

    return Handler


def serve(port: int, metrics: Metrics, health: Health, host: str = "") -> ThreadingHTTPServer:
    try:
        server = ThreadingHTTPServer((host, port), _handler(metrics, health))
    except OSError as err:
        raise OperationalError(
            f"cannot listen on port {port} for metrics: {err}",
            hint="pick a free port with --metrics-port",
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="qv-agent-http", daemon=True).start()
    return server

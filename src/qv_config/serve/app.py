"""``create_app(client, settings)``: the Starlette application of ``qv serve``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import cache

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qv_config.client.client import ConfigClient
from qv_config.serve import flagapi, readapi
from qv_config.serve.accesslog import AccessLog
from qv_config.serve.errors import http_error, server_error
from qv_config.serve.fastpath import FastPath
from qv_config.serve.guard import Guard
from qv_config.serve.metrics import ServeMetrics
from qv_config.serve.server import Server, json_response
from qv_config.serve.settings import Settings


async def healthz(request: Request) -> Response:
    """200 ``ok``; 200 ``degraded`` while the client may be behind the store (the last good
    state is served); 503 ``starting`` before a state is loaded."""
    client = request.app.state.server.client
    if not client.ready:
        return json_response({"status": "starting", "revision": None}, 503)
    status = "degraded" if client.stale else "ok"
    return json_response({"status": status, "revision": client.revision})


async def metrics(request: Request) -> Response:
    server: Server = request.app.state.server
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(server.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


async def openapi(request: Request) -> Response:
    return Response(openapi_bytes(), media_type="application/json")


@cache
def openapi_bytes() -> bytes:
    from qv_config.serve.openapi import document, dumps

    return dumps(document())


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/v1/{env}", readapi.environment, methods=["GET"]),
    Route("/v1/{env}/events", readapi.events, methods=["GET"]),
    Route("/v1/{env}/{kind}", readapi.listing, methods=["GET"]),
    Route("/v1/{env}/{kind}/{name}", readapi.document, methods=["GET"]),
    Route("/api/client/features", flagapi.features, methods=["GET"]),
    Route("/api/client/metrics", flagapi.unleash_metrics, methods=["POST"]),
    Route("/api/client/register", flagapi.unleash_register, methods=["POST"]),
    Route("/ofrep/v1/evaluate/flags", flagapi.ofrep_bulk, methods=["POST"]),
    Route("/ofrep/v1/evaluate/flags/{key}", flagapi.ofrep_flag, methods=["POST"]),
]


def create_app(client: ConfigClient, settings: Settings) -> Guard:
    """The ASGI application serving ``client``'s environment (which must be settings.env)."""
    from prometheus_client import CollectorRegistry

    registry = settings.registry if settings.registry is not None else CollectorRegistry()
    server = Server(client, settings, ServeMetrics(registry))
    unsubscribe = client.subscribe(server.hub.on_update)
    access = AccessLog() if settings.access_log else None

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        unsubscribe()
        if access is not None:
            access.flush()

    app = Starlette(
        routes=ROUTES,
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.server = server
    return Guard(app, settings, server.metrics, access, FastPath(server))

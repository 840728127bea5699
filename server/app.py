"""The ASGI app: Starlette around a running Taskloom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute

from taskloom.server.auth.http import BodyLimit, LoopbackOnly
from taskloom.server.browser_headers import BrowserHeaders
from taskloom.server.dashboard import dashboard_files
from taskloom.server.graphql_app import TaskloomGraphQL
from taskloom.server.health import Health
from taskloom.server.metrics import Metrics
from taskloom.server.playground import ASSETS, playground_assets
from taskloom.server.taskloom import Taskloom
from taskloom.server.tracing import TraceRequests


def create_app(taskloom: Taskloom) -> Starlette:
    """The app starts and stops `taskloom` with its lifespan."""

    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await taskloom.start()
        metrics.attach(taskloom)
        try:
            yield
        finally:
            await taskloom.stop()

    origins = [o.strip() for o in taskloom.settings.cors_origins.split(",") if o.strip()]
    graphql = TaskloomGraphQL(taskloom, allowed_origins=origins)
    routes = [
        Mount(ASSETS, app=playground_assets(), name="playground"),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", Health(taskloom).endpoint),
        Route("/metrics", metrics.endpoint),
        Mount("/", app=dashboard_files(), name="dashboard"),  # keep last: it matches every path
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        allow_credentials="*" not in origins,
    )
    middleware = [cors] if origins else []
    middleware.insert(0, Middleware(BodyLimit, max_bytes=taskloom.settings.max_body_bytes))
    if taskloom.settings.auth == "disabled":
        middleware.insert(0, Middleware(LoopbackOnly))
    middleware.insert(0, Middleware(TraceRequests))
    middleware.insert(0, Middleware(BrowserHeaders))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.taskloom = taskloom
    return app

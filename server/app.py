"""The ASGI app: Starlette around a running Taskloom."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from server.dashboard import dashboard_files
from server.metrics import Metrics
from server.taskloom import Taskloom


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

    async def healthz(request: Request) -> JSONResponse:
        worker = taskloom.worker
        return JSONResponse(
            {
                "status": "ok",
                "definitions": [d.id for d in taskloom.registry],
                "worker": None
                if worker is None
                else {
                    "id": worker.worker_id,
                    "busy": worker.busy,
                    "slots": worker.options.concurrency,
                },
            }
        )

    routes = [
        Route("/healthz", healthz),
        Route("/metrics", metrics.endpoint),
        Mount("/", app=dashboard_files(), name="dashboard"),  # keep last: it matches every path
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.taskloom = taskloom
    return app

"""`/healthz`: whether the process serves, and, for a caller with a token,
what it runs.

Without credentials the answer is the status and the versions only
(`{"status": "ok", "version": …, "python": …}`), so a load balancer can
probe it and a stranger learns nothing of the deployment. A valid token (any
role; with `TASKLOOM_AUTH=disabled`, every loopback caller) also gets the
definition ids and this process's worker (its id names host and pid)."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from taskloom.server.taskloom import Taskloom


def taskloom_version() -> str:
    try:
        return version("taskloom")
    except PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown"


class Health:
    def __init__(self, taskloom: Taskloom) -> None:
        self.taskloom = taskloom
        self.versions = {"version": taskloom_version(), "python": platform.python_version()}

    async def endpoint(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = {"status": "ok", **self.versions}
        if await self.taskloom.authenticator.from_headers(request.headers) is not None:
            body.update(self.detail())
        return JSONResponse(body)

    def detail(self) -> dict[str, Any]:
        worker = self.taskloom.worker
        return {
            "definitions": [d.id for d in self.taskloom.registry],
            "worker": None
            if worker is None
            else {
                "id": worker.worker_id,
                "busy": worker.busy,
                "slots": worker.options.concurrency,
            },
        }

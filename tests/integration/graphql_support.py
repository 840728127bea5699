"""Shared pieces of the GraphQL tests: small definitions, a served app with
an ASGI client, and helpers that post operations and unwrap the answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pydantic import BaseModel, Field

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.app import create_app
from taskloom.server.taskloom import Taskloom


class EchoInput(BaseModel):
    text: str = Field(description="What to echo")
    times: int = Field(1, ge=1, le=10)


class Echo(TaskDefinition[EchoInput]):
    """Logs its text `times` times, one iteration each, then returns it."""

    id = "echo"
    title = "Echo"

    async def run(self, controller: TaskController[EchoInput]) -> Any:
        done = controller.state.get("done", 0) + 1
        controller.log.info(f"{controller.input.text} #{done}", data={"n": done})
        controller.progress(done, controller.input.times, "echoes")
        if done < controller.input.times:
            return controller.response.continue_(state={"done": done})
        return controller.response.done(output={"text": controller.input.text})


class Waiter(TaskDefinition[Any]):
    """Continues slowly until aborted: a run that stays alive."""

    id = "waiter"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.runtime.is_aborted():
            return controller.response.aborted("stopped")
        return controller.response.continue_(delay=0.05)


class Broken(TaskDefinition[Any]):
    """Its input schema cannot be built: an unexpected server-side error."""

    id = "broken"

    @classmethod
    def input_schema(cls) -> dict[str, Any]:
        raise RuntimeError("secret detail /srv/taskloom/internal.py SELECT * FROM task_runs")

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


DEFINITIONS: tuple[type[TaskDefinition[Any]], ...] = (Echo, Waiter, Broken)


@asynccontextmanager
async def served(
    database_url: str,
    *,
    worker: bool = True,
    definitions: tuple[type[TaskDefinition[Any]], ...] = DEFINITIONS,
    **settings: Any,
) -> AsyncIterator[tuple[Taskloom, httpx.AsyncClient]]:
    """A started Taskloom behind the real ASGI app (lifespan included) and
    an httpx client speaking to it in-process. Authentication is off (its
    own tests turn it on)."""
    settings.setdefault("auth", "disabled")
    taskloom = Taskloom(
        database_url,
        registry=Registry(definitions),
        worker=worker,
        load_entry_points=False,
        poll_interval=0.2,
        shutdown_grace=1.0,
        **settings,
    )
    app = create_app(taskloom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            yield taskloom, client


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole JSON answer of one operation (asserting HTTP 200)."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`data` of an operation that must succeed."""
    body = await post(client, query, variables)
    assert "errors" not in body, body["errors"]
    result: dict[str, Any] = body["data"]
    return result


async def error(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The single error of an operation that must fail."""
    body = await post(client, query, variables)
    assert len(body.get("errors", [])) == 1, body
    first: dict[str, Any] = body["errors"][0]
    return first

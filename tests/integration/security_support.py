"""Shared pieces of the security tests: a real uvicorn server on a free
loopback port (real HTTP, real WebSocket), tokens per role, and clients that
send an operation over HTTP or over graphql-transport-ws."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import connect

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.server.app import create_app
from taskloom.server.taskloom import Taskloom

STARTUP_SECONDS = 20.0
WS_SECONDS = 10.0


class Hold(TaskDefinition[Any]):
    """Open to every role; tests create its runs far in the future so they
    stay PENDING and each control is deterministic."""

    id = "sec-hold"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.continue_(delay=3600)


class DevelopersOnly(TaskDefinition[Any]):
    id = "sec-developers"
    roles = frozenset({"developer"})

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Yearly(TaskDefinition[Any]):
    id = "sec-yearly"
    schedule = "0 0 1 1 *"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


DEFINITIONS: tuple[type[TaskDefinition[Any]], ...] = (Hold, DevelopersOnly, Yearly)


@dataclass
class Server:
    taskloom: Taskloom
    url: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/graphql"


@asynccontextmanager
async def serve(
    database_url: str,
    definitions: tuple[type[TaskDefinition[Any]], ...] = DEFINITIONS,
    **settings: Any,
) -> AsyncIterator[Server]:
    """A Taskloom behind uvicorn on 127.0.0.1 and a free port; tokens named
    admin, developer, alice (user) and bob (user) are created up front."""
    settings.setdefault("load_entry_points", False)
    settings.setdefault("poll_interval", 0.2)
    settings.setdefault("shutdown_grace", 1.0)
    taskloom = Taskloom(database_url, registry=Registry(definitions), **settings)
    app = create_app(taskloom)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="on", ws="websockets-sansio", log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.01)
    try:
        running = Server(taskloom, f"http://127.0.0.1:{port}")
        for name, role in (
            ("admin", "admin"),
            ("developer", "developer"),
            ("alice", "user"),
            ("bob", "user"),
        ):
            running.tokens[name] = (await taskloom.tokens.create(name, role)).secret
        yield running
    finally:
        server.should_exit = True
        await task
        sock.close()


def headers_for(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers_for(token)
    )


async def ws_operation(
    server: Server,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    init_payload: dict[str, Any] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Runs one operation over graphql-transport-ws and returns the messages
    for it (`next`, `error`, `complete`), ending at `error` or `complete`."""
    messages: list[dict[str, Any]] = []
    async with asyncio.timeout(WS_SECONDS):
        async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init: dict[str, Any] = {"type": "connection_init"}
            if init_payload is not None:
                init["payload"] = init_payload
            await ws.send(json.dumps(init))
            ack = json.loads(await ws.recv())
            assert ack["type"] == "connection_ack", ack
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables or {}},
                    }
                )
            )
            while len(messages) < limit:
                message = json.loads(await ws.recv())
                if message.get("type") in ("ping", "pong"):
                    continue
                messages.append(message)
                if message["type"] in ("error", "complete"):
                    break
    return messages


def ws_errors(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every GraphQL error in the messages of one operation."""
    found: list[dict[str, Any]] = []
    for message in messages:
        if message["type"] == "error":
            found.extend(message["payload"])
        elif message["type"] == "next":
            found.extend(message["payload"].get("errors") or [])
    return found


def ws_data(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m["payload"]["data"] for m in messages if m["type"] == "next" and m["payload"].get("data")
    ]

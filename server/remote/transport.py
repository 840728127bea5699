"""How `Client` talks to a server: one GraphQL operation over HTTP, or a
subscription over graphql-transport-ws; and a GraphQL error as the
exception `TaskService` would have raised (`extensions.code`)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException
from websockets.typing import Subprotocol

from taskloom.definitions.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskloomError,
    Unauthenticated,
    WaitTimeout,
)
from taskloom.server.remote.operations import OPERATIONS

PROTOCOL = Subprotocol("graphql-transport-ws")
ERRORS: dict[str, type[TaskloomError]] = {
    "NOT_FOUND": NotFound,
    "CONFLICT": Conflict,
    "FORBIDDEN": Forbidden,
    "UNAUTHENTICATED": Unauthenticated,
    "TIMEOUT": WaitTimeout,
}


class Unreachable(TaskloomError):
    """The server could not be reached, or did not answer GraphQL."""

    code = "UNAVAILABLE"


def raised(error: dict[str, Any]) -> TaskloomError:
    """The exception for one GraphQL error of the answer."""
    message = str(error.get("message") or "the server reported an error")
    extensions = error.get("extensions") or {}
    code = extensions.get("code")
    if code == "BAD_USER_INPUT":
        return InvalidInput(message, errors=list(extensions.get("errors") or []))
    kind = ERRORS.get(code) if isinstance(code, str) else None
    if kind is not None:
        return kind(message)
    failure = TaskloomError(message, details=dict(extensions))
    if isinstance(code, str):
        failure.code = code
    return failure


def endpoints(url: str) -> tuple[str, str]:
    """The HTTP and WebSocket addresses of the GraphQL endpoint at `url`."""
    base = url.rstrip("/")
    http = base if base.endswith("/graphql") else base + "/graphql"
    if not http.startswith(("http://", "https://")):
        raise ValueError(f"the server URL must start with http:// or https://, not {url!r}")
    return http, "ws" + http.removeprefix("http")


class Transport:
    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        self.http_url, self.ws_url = endpoints(url)
        self.token = token
        self.headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.timeout = timeout
        self.http = httpx.AsyncClient(headers=self.headers, timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def execute(self, operation: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`data` of the named operation (`operations.py`), or its error raised."""
        body = {"query": OPERATIONS[operation], "variables": variables}
        try:
            response = await self.http.post(self.http_url, json=body)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach {self.http_url}: {exc}") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise Unreachable(f"{self.http_url} answered HTTP {response.status_code}, not GraphQL")
        if answer.get("errors"):
            raise raised(answer["errors"][0])
        data = answer.get("data")
        if not isinstance(data, dict):
            raise Unreachable(f"{self.http_url} answered HTTP {response.status_code} without data")
        return data

    async def subscribe(
        self, operation: str, variables: dict[str, Any]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Each `data` the named subscription sends, until it completes."""
        init: dict[str, Any] = {"type": "connection_init"}
        if self.token is not None:
            init["payload"] = {"Authorization": f"Bearer {self.token}"}
        subscribe = {
            "id": "1",
            "type": "subscribe",
            "payload": {"query": OPERATIONS[operation], "variables": variables},
        }
        try:
            async with connect(
                self.ws_url,
                subprotocols=[PROTOCOL],
                additional_headers=self.headers,
                open_timeout=self.timeout,
            ) as ws:
                await ws.send(json.dumps(init))
                await _acknowledged(ws)
                await ws.send(json.dumps(subscribe))
                async for raw in ws:
                    message = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif kind == "next":
                        payload = message.get("payload") or {}
                        if payload.get("errors"):
                            raise raised(payload["errors"][0])
                        yield payload.get("data") or {}
                    elif kind == "error":
                        raise raised((message.get("payload") or [{}])[0])
                    elif kind == "complete":
                        return
        except (OSError, WebSocketException) as exc:
            raise Unreachable(f"cannot follow {self.ws_url}: {exc}") from None


async def _acknowledged(ws: Any) -> None:
    while True:
        message = json.loads(await ws.recv())
        kind = message.get("type")
        if kind == "connection_ack":
            return
        if kind == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        raise Unreachable(f"the server refused the subscription connection: {message}")

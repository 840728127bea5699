"""A WebSocket is held to its token for as long as it is open, over real
graphql-transport-ws: a revoked token's socket runs no new operation and its
subscriptions end with UNAUTHENTICATED; a socket that never initialises is
closed (4408) and one without a valid token is closed (4401) after
TASKLOOM_WS_INIT_TIMEOUT; a token holds at most
TASKLOOM_MAX_SUBSCRIPTIONS_PER_TOKEN open subscriptions across its sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.integration.security_support import Server, serve

WATCH = "subscription($id: ID!) { taskRunUpdated(id: $id) { id status } }"
MINT = 'mutation { createApiToken(name: "more", role: ADMIN) { secret } }'
SECONDS = 15


@asynccontextmanager
async def socket(
    server: Server, token: str | None, init: bool = True
) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        if init:
            payload = {} if token is None else {"Authorization": f"Bearer {token}"}
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        yield ws


async def subscribe(
    ws: ClientConnection, op_id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    payload = {"query": query, "variables": variables or {}}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def until(ws: ClientConnection, op_id: str, *types: str) -> dict[str, Any]:
    """The next message for `op_id` whose type is one of `types`."""
    async with asyncio.timeout(SECONDS):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message.get("id") == op_id and message["type"] in types:
                return message


def codes(message: dict[str, Any]) -> list[str]:
    errors = (
        message["payload"] if message["type"] == "error" else message["payload"].get("errors", [])
    )
    return [e["extensions"]["code"] for e in errors]


async def closed_with(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(SECONDS):
            while True:
                await ws.recv()
    return None if closed.value.rcvd is None else closed.value.rcvd.code


async def test_a_revoked_token_runs_nothing_more_on_its_open_socket(tmp_path: Path) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", ws_token_recheck_seconds=0.2
    ) as server:
        tokens = server.taskloom.tokens
        (admin,) = [t for t in await tokens.list() if t.name == "admin"]
        run = await server.taskloom.service.trigger("sec-hold", delay=3600)
        async with socket(server, server.tokens["admin"]) as ws:
            await subscribe(ws, "watch", WATCH, {"id": run.id})
            first = await until(ws, "watch", "next")
            assert first["payload"]["data"]["taskRunUpdated"]["status"] == "PENDING"
            await subscribe(ws, "before", "{ viewer { owner } }")
            assert (await until(ws, "before", "next"))["payload"]["data"] == {
                "viewer": {"owner": "admin"}
            }

            await tokens.revoke(admin.id)

            ended = await until(ws, "watch", "next", "error")
            assert codes(ended) == ["UNAUTHENTICATED"], ended
            await subscribe(ws, "mint", MINT)
            assert codes(await until(ws, "mint", "next", "error")) == ["UNAUTHENTICATED"]
            await subscribe(ws, "again", WATCH, {"id": run.id})
            assert codes(await until(ws, "again", "next", "error")) == ["UNAUTHENTICATED"]
        names = [t.name for t in await tokens.list()]
        assert "more" not in names


async def test_a_socket_that_never_initialises_is_closed(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'i.db'}"
    async with serve(url, ws_init_timeout=0.5) as server, socket(server, None, init=False) as ws:
        assert await closed_with(ws) == 4408


async def test_a_socket_without_a_valid_token_is_closed_after_the_timeout(tmp_path: Path) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'u.db'}",
        ws_init_timeout=0.5,
        ws_token_recheck_seconds=0.2,
    ) as server:
        for token in (None, "tlk_not-a-real-token"):
            async with socket(server, token) as ws:
                await subscribe(ws, "docs", "{ __schema { queryType { name } } }")
                assert (await until(ws, "docs", "next"))["payload"]["data"]["__schema"]
                assert await closed_with(ws) == 4401
        async with socket(server, server.tokens["alice"]) as ws:
            await asyncio.sleep(1.0)  # twice the timeout: a valid token's socket stays open
            await subscribe(ws, "me", "{ viewer { owner } }")
            assert (await until(ws, "me", "next"))["payload"]["data"] == {
                "viewer": {"owner": "alice"}
            }


async def test_subscriptions_are_bounded_per_token_across_sockets(tmp_path: Path) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 's.db'}", max_subscriptions_per_token=2
    ) as server:
        run = await server.taskloom.service.trigger("sec-hold", delay=3600)
        variables = {"id": run.id}
        async with (
            socket(server, server.tokens["admin"]) as one,
            socket(server, server.tokens["admin"]) as two,
            socket(server, server.tokens["developer"]) as other,
        ):
            await subscribe(one, "a", WATCH, variables)
            await until(one, "a", "next")
            await subscribe(two, "b", WATCH, variables)
            await until(two, "b", "next")
            await subscribe(two, "c", WATCH, variables)
            refused = await until(two, "c", "next", "error")
            assert codes(refused) == ["TOO_MANY_SUBSCRIPTIONS"], refused
            await subscribe(other, "d", WATCH, variables)  # another token has its own
            assert codes(await until(other, "d", "next", "error")) == []

            await one.send(json.dumps({"id": "a", "type": "complete"}))
            await asyncio.sleep(0.2)  # the server closes "a"'s stream
            await subscribe(two, "e", WATCH, variables)
            assert codes(await until(two, "e", "next", "error")) == []

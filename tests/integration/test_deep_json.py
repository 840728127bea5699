"""JSON nested deeper than anything walks safely gets a clean refusal, over
HTTP, WebSocket and the Python service: a body or message deeper than the
decoder's recursion allows (50,000 levels) is a 400 (WebSocket: close 4400),
an input deeper than TASKLOOM_MAX_INPUT_DEPTH (100) is BAD_USER_INPUT, and no
RecursionError or other traceback reaches the log."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from taskloom.definitions.errors import InvalidInput
from tests.integration.security_support import Server, headers_for, serve, ws_errors, ws_operation

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
TRIGGER = (
    'mutation($i: JSON) { triggerTask(definitionId: "sec-hold", input: $i, '
    "delaySeconds: 3600) { id input } }"
)


def nested(levels: int) -> str:
    """`{"a": [[…]]}`: an object holding lists, `levels` deep in all."""
    return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def body(levels: int) -> str:
    return request_with(nested(levels))


def request_with(variable: str) -> str:
    """A request whose variable `i` is `variable`, JSON text as it is sent."""
    return '{"query": ' + json.dumps(TRIGGER) + ', "variables": {"i": ' + variable + "}}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    path: Path = tmp_path_factory.mktemp("deep") / "taskloom.db"
    async with serve(f"sqlite+aiosqlite:///{path}", worker=False) as running:
        yield running


async def send(server: Server, content: str) -> httpx.Response:
    headers = {"content-type": "application/json", **headers_for(server.tokens["admin"])}
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        return await client.post("/graphql", content=content, headers=headers)


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert logged == [], [r.getMessage() for r in logged]
    assert "RecursionError" not in caplog.text


@MODULE_LOOP
async def test_variables_50000_levels_deep_are_a_clean_400(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    response = await send(server, body(50_000))
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["message"] == "The request's JSON is nested too deeply"
    no_tracebacks(caplog)


@MODULE_LOOP
@pytest.mark.parametrize("levels", [101, 900, 990])
async def test_an_input_deeper_than_the_limit_is_bad_user_input(
    server: Server, levels: int, caplog: pytest.LogCaptureFixture
) -> None:
    runs = await server.taskloom.service.count_runs()
    response = await send(server, body(levels))
    if response.status_code == 400:  # the decoder gave up first
        assert "nested too deeply" in response.text
    else:
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["errors"] == [
            {"loc": ["input"], "message": "must be nested at most 100 levels deep"}
        ]
    assert await server.taskloom.service.count_runs() == runs
    no_tracebacks(caplog)


@MODULE_LOOP
async def test_an_input_at_the_limit_is_stored_and_read_back(server: Server) -> None:
    response = await send(server, body(100))
    run = response.json()["data"]["triggerTask"]
    assert json.dumps(run["input"], separators=(",", ":")) == nested(100).replace(" ", "")


@MODULE_LOOP
async def test_deep_json_over_websocket(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    messages = await ws_operation(
        server, TRIGGER, {"i": json.loads(nested(900))}, init_payload=admin
    )
    assert [e["extensions"]["code"] for e in ws_errors(messages)] == ["BAD_USER_INPUT"]
    message = '{"id": "1", "type": "subscribe", "payload": ' + body(50_000) + "}"
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": admin}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    no_tracebacks(caplog)


@MODULE_LOOP
async def test_the_python_service_refuses_deep_input_too(server: Server) -> None:
    deep: Any = []
    for _ in range(2_000):
        deep = [deep]
    with pytest.raises(InvalidInput, match="nested at most 100 levels"):
        await server.taskloom.service.trigger("sec-hold", {"a": deep}, delay=3600)

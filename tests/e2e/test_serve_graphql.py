"""End to end: a real `taskloom serve` process, HTTP and a real WebSocket
(graphql-transport-ws). Trigger the countdown example over HTTP, follow it
live to SUCCEEDED, and read its logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.e2e.conftest import ServerProcess

RUN_UPDATES = """subscription($id: ID!) {
  taskRunUpdated(id: $id) {
    id status waiting { reason } iterations progress { current total percent } output
  }
}"""
LOG_LINES = "subscription($id: ID!) { taskLogAdded(runId: $id) { id message level data } }"
TRIGGER = """mutation($input: JSON, $delay: Int) {
  triggerTask(definitionId: "countdown", input: $input, delaySeconds: $delay) { id status }
}"""
LOGS = """query($id: ID!) { taskRun(id: $id) {
  status logs { totalCount edges { node { id message level data } } } } }"""


async def graphql(
    server: ServerProcess, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    async with httpx.AsyncClient(headers=server.headers, timeout=10) as client:
        response = await client.post(
            server.graphql_url, json={"query": query, "variables": variables or {}}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


@asynccontextmanager
async def websocket(server: ServerProcess) -> AsyncIterator[ClientConnection]:
    async with connect(server.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        await ws.send(json.dumps({"type": "connection_init", "payload": server.headers}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(ws: ClientConnection, op_id: str, query: str, **variables: Any) -> None:
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))


async def messages_until_complete(
    ws: ClientConnection, op_ids: set[str], limit: float = 30
) -> dict[str, list[dict[str, Any]]]:
    """Every message per operation until each one completes (or errors)."""
    found: dict[str, list[dict[str, Any]]] = {op_id: [] for op_id in op_ids}
    open_ops = set(op_ids)

    async def read() -> None:
        while open_ops:
            message = json.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            found[message["id"]].append(message)
            if message["type"] in {"complete", "error"}:
                open_ops.discard(message["id"])

    await asyncio.wait_for(read(), limit)
    return found


async def test_trigger_follow_live_to_succeeded_and_read_logs(
    taskloom_server: ServerProcess,
) -> None:
    server = taskloom_server
    # Due in a second, so both subscriptions are listening before line one.
    input = {"start": 3, "delay_seconds": 0.1}
    run = (await graphql(server, TRIGGER, {"input": input, "delay": 1}))["triggerTask"]
    assert run["status"] == "PENDING"
    async with websocket(server) as ws:
        await subscribe(ws, "run", RUN_UPDATES, id=run["id"])
        await subscribe(ws, "logs", LOG_LINES, id=run["id"])
        found = await messages_until_complete(ws, {"run", "logs"})

    updates = [m["payload"]["data"]["taskRunUpdated"] for m in found["run"] if m["type"] == "next"]
    assert found["run"][-1]["type"] == "complete"
    assert updates[0]["status"] == "PENDING"
    assert updates[-1]["status"] == "SUCCEEDED"
    assert updates[-1]["output"] == {"counted": 3}
    assert updates[-1]["progress"] == {"current": 3.0, "total": 3.0, "percent": 100.0}
    # Started, the countdown reads RUNNING to its end, waiting between steps.
    statuses = [u["status"] for u in updates]
    first_start = statuses.index("RUNNING")
    assert "PENDING" not in statuses[first_start:], statuses
    assert all(u["waiting"] is None for u in updates[:first_start])
    iterations = [u["iterations"] for u in updates]
    assert iterations == sorted(iterations) and iterations[-1] == 3

    live = [m["payload"]["data"]["taskLogAdded"] for m in found["logs"] if m["type"] == "next"]
    assert found["logs"][-1]["type"] == "complete"
    assert [line["message"] for line in live] == ["3...", "2...", "1..."]

    stored = (await graphql(server, LOGS, {"id": run["id"]}))["taskRun"]
    assert stored["status"] == "SUCCEEDED"
    assert stored["logs"]["totalCount"] == 3
    assert [edge["node"] for edge in stored["logs"]["edges"]] == live


async def test_errors_over_the_websocket_carry_codes(taskloom_server: ServerProcess) -> None:
    async with websocket(taskloom_server) as ws:
        await subscribe(ws, "missing", RUN_UPDATES, id="no-such-run")
        await subscribe(ws, "bad", "subscription { taskRunUpdated { id } }")
        found = await messages_until_complete(ws, {"missing", "bad"}, limit=10)
    missing = json.dumps(found["missing"])
    assert '"NOT_FOUND"' in missing and "Traceback" not in missing
    assert '"BAD_USER_INPUT"' in json.dumps(found["bad"])


async def test_graphiql_and_health_are_served(taskloom_server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(taskloom_server.graphql_url, headers={"accept": "text/html"})
        health = await client.get(
            f"{taskloom_server.base_url}/healthz", headers=taskloom_server.headers
        )
    assert page.status_code == 200 and "mutation TriggerCountdown" in page.text
    assert health.json()["status"] == "ok"
    assert "countdown" in health.json()["definitions"]

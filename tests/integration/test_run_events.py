"""`taskRunEvents`: every run's changes over a real WebSocket on a real
port, narrowed to what each token may see and to the filter; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.integration.security_support import DEFINITIONS, Server, serve

EVENTS = (
    "subscription($where: TaskRunFilter) {"
    " taskRunEvents(where: $where) { id status createdBy requested } }"
)
SECONDS = 10.0


class Stream:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def until(self, done: Any) -> list[dict[str, Any]]:
        """Reads events until `done(received)` holds; returns them all."""
        async with asyncio.timeout(SECONDS):
            while not done(self.received):
                message = json.loads(await self.ws.recv())
                if message["type"] in ("ping", "pong"):
                    continue
                assert message["type"] == "next", message
                assert "errors" not in message["payload"], message
                self.received.append(message["payload"]["data"]["taskRunEvents"])
        return self.received


@asynccontextmanager
async def events(
    server: Server, token: str, where: dict[str, Any] | None = None
) -> AsyncIterator[Stream]:
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": EVENTS, "variables": {"where": where}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        # The subscription is registered once the server answers a ping after it.
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await ws.recv())["type"] == "pong"
        await asyncio.sleep(0.1)  # the resolver starts after the subscribe message is handled
        yield Stream(ws)


def ids(received: list[dict[str, Any]]) -> set[str]:
    return {event["id"] for event in received}


def pairs(received: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["id"], event["status"]) for event in received]


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    async with serve(database_url) as running:
        yield running


async def test_a_user_token_never_receives_another_users_events(server: Server) -> None:
    service = server.taskloom.service
    async with (
        events(server, server.tokens["alice"]) as alice,
        events(server, server.tokens["developer"]) as developer,
    ):
        bobs = await service.trigger("sec-hold", delay=3600, created_by="bob")
        await service.pause(bobs.id)
        await service.abort(bobs.id)
        mine = await service.trigger("sec-hold", delay=3600, created_by="alice")
        await service.abort(mine.id)
        everything = await developer.until(
            lambda got: [e["status"] for e in got if e["id"] == mine.id][-1:] == ["ABORTED"]
        )
        seen = await alice.until(lambda got: [e["status"] for e in got][-1:] == ["ABORTED"])
    # Bob's changes came first, so alice's stream had read them when it sent
    # her abort. (Changes read together arrive as the latest state only.)
    assert {e["createdBy"] for e in seen} == {"alice"}
    assert ids(seen) == {mine.id}
    assert seen[-1]["status"] == "ABORTED"
    assert ids(everything) == {bobs.id, mine.id}
    assert [e["status"] for e in everything if e["id"] == bobs.id][-1] == "ABORTED"


async def test_the_filter_narrows_and_a_run_leaving_it_is_sent_once_more(server: Server) -> None:
    service = server.taskloom.service
    where = {"definitionId": "sec-hold", "status": ["PENDING", "PAUSED"]}
    async with events(server, server.tokens["admin"], where) as stream:

        async def sees(run_id: str, status: str) -> None:
            await stream.until(lambda got: (run_id, status) in pairs(got))

        other = await service.trigger("sec-developers", delay=3600)
        run = await service.trigger("sec-hold", delay=3600)
        await sees(run.id, "PENDING")
        await service.pause(run.id)
        await sees(run.id, "PAUSED")
        await service.abort(run.id)
        await sees(run.id, "ABORTED")
        await service.abort(other.id)
        last = await service.trigger("sec-hold", delay=3600)
        await sees(last.id, "PENDING")
    assert pairs(stream.received) == [
        (run.id, "PENDING"),
        (run.id, "PAUSED"),
        (run.id, "ABORTED"),  # out of the filter now: sent once more
        (last.id, "PENDING"),
    ]


async def test_changes_committed_by_another_process_reach_the_stream(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    """Another Taskloom on the same database (its own hub: on a SQLite file
    nothing announces its commits here) triggers, requests and finishes."""
    other = Taskloom(
        database_url, registry=Registry(DEFINITIONS), worker=False, load_entry_points=False
    )
    await other.start()
    try:
        async with events(server, server.tokens["developer"]) as stream:
            run = await other.service.trigger("sec-hold", delay=3600)
            await other.service.pause(run.id)
            await other.service.resume(run.id)
            await other.service.abort(run.id)
            got = await stream.until(lambda got: "ABORTED" in [e["status"] for e in got])
    finally:
        await other.stop()
    # Read after the commits, the stream may see only the latest state.
    assert got[-1]["status"] == "ABORTED"
    assert ids(got) == {run.id}


class Steps(TaskDefinition[Any]):
    """Three iterations, each reporting its progress."""

    id = "events-steps"

    async def run(self, controller: TaskController[Any]) -> Any:
        done = controller.state.get("done", 0) + 1
        controller.progress(done, 3, "steps")
        if done < 3:
            return controller.response.continue_(state={"done": done}, delay=0.5)
        return controller.response.done()


async def test_progress_changes_are_streamed_until_the_run_ends(make_app: Any) -> None:
    app = await make_app(Steps)
    stream = app.service.run_events(RunFilter(definition_id="events-steps"))
    seen: list[tuple[str, float | None]] = []

    async def follow() -> None:
        async for run in stream:
            seen.append((run.status.value, run.progress.current if run.progress else None))
            if run.has_ended:
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)  # the stream subscribes on its first step
    await app.service.trigger("events-steps")
    async with asyncio.timeout(SECONDS):
        await follower
    await stream.aclose()
    progress = [current for _, current in seen if current is not None]
    assert progress == sorted(progress) and set(progress) == {1.0, 2.0, 3.0}
    assert seen[-1] == ("SUCCEEDED", 3.0)

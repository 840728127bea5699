"""`Client` and `SyncClient` against a real server (uvicorn on loopback,
real HTTP and graphql-transport-ws) on SQLite and PostgreSQL, with a token
of each role: the same answers as `TaskService` in process, the same
exceptions, and the live streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import BaseModel, Field

from taskloom import Client, SyncClient, Unreachable
from taskloom.definitions import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TaskController,
    TaskDefinition,
    TaskStatus,
    Unauthenticated,
    WaitTimeout,
)
from taskloom.definitions.filters import LogFilter, RunFilter
from tests.integration.security_support import DEFINITIONS, Server, serve

LATER = 3600.0  # runs due this far ahead stay PENDING


class StepsInput(BaseModel):
    steps: int = Field(3, ge=1, le=20)


class Steps(TaskDefinition[StepsInput]):
    """One iteration per step: logs, reports progress, then returns."""

    id = "remote-steps"

    async def run(self, controller: TaskController[StepsInput]) -> Any:
        done = controller.state.get("done", 0) + 1
        controller.log.info(f"step {done}", data={"done": done})
        controller.progress(done, controller.input.steps, "steps")
        if done < controller.input.steps:
            return controller.response.continue_(state={"done": done}, delay=0.05)
        return {"steps": done}


class Failing(TaskDefinition[Any]):
    id = "remote-failing"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.error("it broke", "BROKEN", data={"why": "test"})


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[Server]:
    async with serve(database_url, (*DEFINITIONS, Steps, Failing)) as running:
        yield running


@pytest.fixture
async def idle_server(database_url: str) -> AsyncIterator[Server]:
    """No worker: every run stays as the test leaves it."""
    async with serve(database_url, (*DEFINITIONS, Steps, Failing), worker=False) as running:
        yield running


def client(server: Server, who: str | None) -> Client:
    return Client(server.url, None if who is None else server.tokens[who])


@pytest.mark.parametrize("who", ["admin", "developer", "alice"])
async def test_answers_equal_the_services(idle_server: Server, who: str) -> None:
    server = idle_server
    service = server.taskloom.service
    async with client(server, who) as tasks:
        run = await tasks.trigger(Steps, {"steps": 2}, name="remote", priority=5, delay=LATER)
        assert run == await service.get(run.id)
        assert run.created_by == who and run.status is TaskStatus.PENDING
        assert run.pausable and run.can_pause and run.waiting_ms >= 0
        assert await tasks.set_priority(run.id, 9) == await service.get(run.id)
        assert (await tasks.pause(run.id)).status is TaskStatus.PAUSED
        assert (await tasks.resume(run.id)).status is TaskStatus.PENDING
        aborted = await tasks.abort(run.id, "not needed")
        assert aborted == await service.get(run.id) and aborted.status is TaskStatus.ABORTED
        again = await tasks.retry(run.id)
        assert again.attempt == 1 and again == await service.get(run.id)
        assert await tasks.history(run.id) == await service.history(run.id)
        assert await tasks.find("no-such-run") is None

        many = await tasks.trigger_many("remote-steps", [{"steps": 1}, {"steps": 4}], delay=LATER)
        assert [r.input for r in many] == [{"steps": 1}, {"steps": 4}]
        assert many == [await service.get(r.id) for r in many]

        where = RunFilter(definition_id="remote-steps", statuses=("PENDING",))
        page = await tasks.list_runs(where, first=2, order="CREATED_AT_ASC")
        assert page.items == (await service.list_runs(where, first=2, order="CREATED_AT_ASC")).items
        assert page.has_next
        rest = await tasks.list_runs(where, first=2, after=page.end_cursor, order="CREATED_AT_ASC")
        assert {r.id for r in page.items + rest.items} == {again.id, *(r.id for r in many)}
        assert await tasks.count_runs(where) == 3

        logs = await tasks.logs(run.id)
        assert logs.items == (await service.logs(run.id)).items
        assert any("aborted" in line.message for line in logs.items)
        warnings = await tasks.logs(where=LogFilter(run_id=run.id, levels=("ERROR",)))
        assert warnings.items == []

        bulk = await tasks.abort_many(where, limit=2, message="bulk")
        assert bulk.count == 2 and bulk.has_more
        assert bulk.runs == [await service.get(r.id) for r in bulk.runs]
        retried = await tasks.retry_many(RunFilter(definition_id="remote-steps"), limit=10)
        assert retried.count == 2 and not retried.has_more


async def test_a_user_sees_only_its_own_runs(idle_server: Server) -> None:
    server = idle_server
    async with client(server, "alice") as alice, client(server, "bob") as bob:
        mine = await alice.trigger("sec-hold", delay=LATER)
        assert await bob.find(mine.id) is None
        with pytest.raises(NotFound, match="no task run"):
            await bob.get(mine.id)
        with pytest.raises(NotFound):
            await bob.abort(mine.id)
        with pytest.raises(NotFound):
            await bob.history(mine.id)
        assert await bob.count_runs() == 0
        assert (await bob.abort_many(limit=10)).count == 0
        # a user naming another owner gets nothing, not its own runs instead
        own = await bob.trigger("sec-hold", delay=LATER)
        assert await bob.count_runs(RunFilter(created_by="alice")) == 0
        assert (await bob.abort_many(RunFilter(created_by="alice"), limit=10)).count == 0
        assert (await bob.get(own.id)).status is TaskStatus.PENDING
        assert await bob.count_runs(RunFilter(created_by="bob")) == 1
        assert (await alice.get(mine.id)).status is TaskStatus.PENDING


async def test_errors_are_the_services_exceptions(server: Server) -> None:
    async with client(server, "alice") as alice:
        with pytest.raises(InvalidInput) as refused:
            await alice.trigger(Steps, {"steps": 99})
        assert refused.value.errors[0]["loc"] == ["steps"]
        with pytest.raises(InvalidInput) as batch:
            await alice.trigger_many(Steps, [{"steps": 1}, {"steps": 0}, {"steps": "x"}])
        assert sorted({e["index"] for e in batch.value.errors}) == [1, 2]
        with pytest.raises(InvalidInput, match="delay"):
            await alice.trigger(Steps, delay=-0.5)
        with pytest.raises(Forbidden):
            await alice.trigger("sec-developers")
        with pytest.raises(NotFound):
            await alice.trigger("no-such-definition")
        run = await alice.trigger("sec-hold", delay=LATER)
        await alice.abort(run.id)
        with pytest.raises(Conflict, match="ABORTED"):
            await alice.abort(run.id)
        with pytest.raises(WaitTimeout, match="still PENDING"):
            await alice.wait((await alice.trigger("sec-hold", delay=LATER)).id, timeout=0.3)
    async with Client(server.url, "not-a-token") as stranger:
        with pytest.raises(Unauthenticated):
            await stranger.get(run.id)
        with pytest.raises(Unauthenticated):  # the subscriptions' WebSocket too
            await anext(stranger.watch(run.id))
        with pytest.raises(Unauthenticated):
            await stranger.wait(run.id, timeout=5)
    async with Client("http://127.0.0.1:9/", "x", timeout=2) as nowhere:
        with pytest.raises(Unreachable, match="cannot reach"):
            await nowhere.get(run.id)


async def test_watch_follow_logs_and_wait_follow_the_run(server: Server) -> None:
    async with client(server, "developer") as tasks:
        run = await tasks.trigger(Steps, {"steps": 3}, delay=1)
        lines = asyncio.create_task(_collect(tasks.follow_logs(run.id)))
        seen = [update async for update in tasks.watch(run.id)]
        assert seen[-1].status is TaskStatus.SUCCEEDED and seen[-1].output == {"steps": 3}
        assert seen[-1] == await server.taskloom.service.get(run.id)
        assert [line.message for line in await lines] == ["step 1", "step 2", "step 3"]
        assert (await tasks.wait(run.id, timeout=10)).status is TaskStatus.SUCCEEDED

        failing = await tasks.trigger(Failing)
        ended = await tasks.wait(failing.id, timeout=30)
        assert ended.status is TaskStatus.FAILED
        assert ended.error is not None and ended.error.code == "BROKEN"
        assert ended.error.data == {"why": "test"}


async def test_the_sync_twin_answers_the_same(server: Server) -> None:
    def script() -> list[Any]:  # in a thread: the server runs on this test's loop
        with SyncClient(server.url, server.tokens["alice"]) as tasks:
            run = tasks.trigger("remote-steps", {"steps": 2})
            statuses = [update.status for update in tasks.watch(run.id)]
            done = tasks.wait(run.id, timeout=30)
            lines = tasks.logs(run.id).items
            with pytest.raises(NotFound):
                tasks.get("missing")
            left_open = tasks.watch(run.id)
            next(left_open)
        left_open.close()  # after the client closed: nothing left to do, no error
        return [statuses, done, lines]

    statuses, done, lines = await asyncio.to_thread(script)
    assert statuses[-1] is TaskStatus.SUCCEEDED
    assert done == await server.taskloom.service.get(done.id)
    assert [line.message for line in lines] == ["step 1", "step 2"]


async def _collect(stream: Any) -> list[Any]:
    return [item async for item in stream]

"""Pausing a whole definition, on SQLite and PostgreSQL: no claims of its
runs (their waitingReason says why), other definitions unaffected, a
running run finishes its iteration and then waits, resumed runs go on, and
the pause survives a restart. Through TaskService, SyncTaskService and
GraphQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest

from taskloom.definitions import NotFound, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.records import WaitReason
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served

WAIT = 10.0


class Steps(TaskDefinition[Any]):
    """Three iterations; the second waits for `gate` (so a test can pause
    the definition while it runs)."""

    id = "pausable-steps"
    gate: ClassVar[asyncio.Event | None] = None
    entered: ClassVar[asyncio.Event | None] = None

    async def run(self, controller: TaskController[Any]) -> Any:
        done = controller.state.get("done", 0)
        if done == 1 and Steps.gate is not None and Steps.entered is not None:
            Steps.entered.set()
            await Steps.gate.wait()
        if done < 2:
            return controller.response.continue_(state={"done": done + 1})
        return {"done": done + 1}


class Other(TaskDefinition[Any]):
    id = "other-definition"

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ran"


async def _until(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def test_a_paused_definition_is_not_claimed_until_resumed(make_app: Any) -> None:
    Steps.gate = Steps.entered = None
    app: Taskloom = await make_app(Steps, Other)
    tasks = app.service
    assert await tasks.pause_definition(Steps.id) is True
    assert await tasks.pause_definition(Steps.id) is False  # already paused
    assert await tasks.paused_definitions() == {Steps.id}
    held = await tasks.trigger(Steps.id)
    other = await tasks.trigger(Other.id)
    assert (await tasks.wait(other.id, timeout=WAIT)).output == "ran"
    await asyncio.sleep(0.5)  # several claim rounds
    held = await tasks.get(held.id)
    assert (held.status, held.iterations) == (TaskStatus.PENDING, 0)
    assert await tasks.waiting_reasons([held.id, other.id]) == [
        WaitReason.DEFINITION_PAUSED,
        None,
    ]
    assert await tasks.resume_definition(Steps.id) is True
    assert await tasks.resume_definition(Steps.id) is False
    done = await tasks.wait(held.id, timeout=WAIT)
    assert (done.status, done.output) == (TaskStatus.SUCCEEDED, {"done": 3})
    assert await tasks.waiting_reasons([held.id]) == [None]


async def test_a_running_run_finishes_its_iteration_then_waits(make_app: Any) -> None:
    Steps.gate, Steps.entered = asyncio.Event(), asyncio.Event()
    app: Taskloom = await make_app(Steps)
    tasks = app.service
    run = await tasks.trigger(Steps.id)
    await asyncio.wait_for(Steps.entered.wait(), WAIT)  # its second iteration runs
    await tasks.pause_definition(Steps.id)
    Steps.gate.set()

    async def waiting() -> bool:
        view = await tasks.get(run.id)
        return view.waiting is not None and view.iterations == 2

    await _until(waiting, "the iteration to finish")
    await asyncio.sleep(0.5)
    view = await tasks.get(run.id)
    assert (view.status, view.iterations, view.worker_id) == (TaskStatus.RUNNING, 2, None)
    assert view.last_worker_id == app.worker.worker_id  # type: ignore[union-attr]
    assert await tasks.waiting_reasons([run.id]) == [WaitReason.DEFINITION_PAUSED]
    await tasks.resume_definition(Steps.id)
    assert (await tasks.wait(run.id, timeout=WAIT)).output == {"done": 3}


async def test_the_pause_survives_a_restart(make_app: Any, database_url: str) -> None:
    Steps.gate = Steps.entered = None
    first: Taskloom = await make_app(Steps, worker=False)
    await first.service.pause_definition(Steps.id)
    run = await first.service.trigger(Steps.id)
    await first.stop()
    second: Taskloom = await make_app(Steps)
    assert await second.service.paused_definitions() == {Steps.id}
    await asyncio.sleep(0.5)
    assert (await second.service.get(run.id)).status is TaskStatus.PENDING
    await second.service.resume_definition(Steps.id)
    assert (await second.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED


async def test_unknown_definitions_are_not_found(make_app: Any) -> None:
    app: Taskloom = await make_app(Steps, worker=False)
    with pytest.raises(NotFound):
        await app.service.pause_definition("no-such-definition")
    with pytest.raises(NotFound):
        await app.service.resume_definition("no-such-definition")


async def test_graphql_shows_and_switches_the_pause(database_url: str) -> None:
    Steps.gate = Steps.entered = None
    async with served(database_url, definitions=(Steps, Other)) as (app, client):
        paused = await data(client, 'mutation { pauseDefinition(id: "pausable-steps") { paused } }')
        assert paused == {"pauseDefinition": {"paused": True}}
        run = await app.service.trigger(Steps.id)
        query = """query($id: ID!) {
            taskRun(id: $id) { status waiting { reason } definition { id paused } }
            taskDefinitions { id paused }
        }"""
        found = await data(client, query, {"id": run.id})
        assert found["taskRun"] == {
            "status": "PENDING",
            "waiting": {"reason": "DEFINITION_PAUSED"},
            "definition": {"id": Steps.id, "paused": True},
        }
        assert {d["id"]: d["paused"] for d in found["taskDefinitions"]} == {
            Steps.id: True,
            Other.id: False,
        }
        resumed = await data(
            client, 'mutation { resumeDefinition(id: "pausable-steps") { paused } }'
        )
        assert resumed == {"resumeDefinition": {"paused": False}}
        assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED

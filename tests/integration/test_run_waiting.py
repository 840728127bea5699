"""A started run between iterations reads RUNNING, with `waiting` set, to
every client: the service, its `wait`, GraphQL (a query, a status filter,
the Watch subscription's first answer), the CLI's list and the metrics.
PENDING is left to runs that never started; the queue itself is unchanged
(the run is claimed again when due)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.errors import WaitTimeout
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.records import WaitReason
from taskloom.server.store.gauges import queue_figures
from tests.integration.graphql_support import data, served
from tests.support.waiting import eventually

LONG = 600.0


class SleepyInput(BaseModel):
    delay: float = LONG


class Sleepy(TaskDefinition[SleepyInput]):
    """Continues once after a delay (`input.delay`), then ends."""

    id = "sleepy"

    async def run(self, controller: TaskController[SleepyInput]) -> Any:
        if controller.state.get("woke"):
            return controller.response.done(output="woke")
        return controller.response.continue_(state={"woke": True}, delay=controller.input.delay)


async def test_a_run_between_iterations_reads_running_everywhere(database_url: str) -> None:
    async with served(database_url, definitions=(Sleepy,)) as (app, client):
        service = app.service
        started = await service.trigger(Sleepy, {})
        never = await service.trigger(Sleepy, {}, delay=LONG)

        async def first_iteration_done() -> bool:
            return (await service.get(started.id)).iterations == 1

        await eventually(first_iteration_done)
        run = await service.get(started.id)
        assert run.status is TaskStatus.RUNNING
        assert run.waiting is not None and run.waiting.reason is WaitReason.TIME
        assert run.waiting.until == run.run_at
        assert run.waiting.until.timestamp() > time.time() + LONG / 2
        assert run.worker_id is None and run.can_pause and not run.has_ended
        idle = await service.get(never.id)
        assert idle.status is TaskStatus.PENDING and idle.waiting is None

        running = await service.list_runs(RunFilter(statuses=("RUNNING",)))
        pending = await service.list_runs(RunFilter(statuses=("PENDING",)))
        both = RunFilter(statuses=("PENDING", "RUNNING"))
        assert [r.id for r in running.items] == [started.id]
        assert [r.id for r in pending.items] == [never.id]
        assert await service.count_runs(both) == 2

        with pytest.raises(WaitTimeout, match="still RUNNING, waiting until"):
            await service.wait(started.id, timeout=0.3)

        answer = await data(
            client,
            """query($id: ID!) { taskRun(id: $id) { status workerId waiting { until reason } } }""",
            {"id": started.id},
        )
        shown = answer["taskRun"]
        assert shown["status"] == "RUNNING" and shown["workerId"] is None
        assert shown["waiting"]["reason"] == "TIME"
        until = datetime.fromisoformat(shown["waiting"]["until"])
        assert until.astimezone(UTC) == run.run_at
        listed = await data(
            client,
            "{ taskRuns(where: {status: [RUNNING]}) { totalCount edges { node { id } } } }",
        )
        assert listed["taskRuns"]["totalCount"] == 1
        assert listed["taskRuns"]["edges"][0]["node"]["id"] == started.id

        figures = await app.database.read(lambda c: queue_figures(c, time.time()))
        assert figures.by_status == {"PENDING": 1, "RUNNING": 1, "PAUSED": 0}
        assert figures.waiting == 1 and figures.delayed == 2 and figures.due == 0


async def test_pausing_and_resuming_a_waiting_run_keeps_it_started(database_url: str) -> None:
    """Stored PENDING, it is paused at once; resumed, it reads RUNNING again
    and is claimed when due, as the queue always did."""
    async with served(database_url, definitions=(Sleepy,)) as (app, _):
        service = app.service
        run = await service.trigger(Sleepy, {"delay": LONG})

        async def waiting() -> bool:
            return (await service.get(run.id)).waiting is not None

        await eventually(waiting)
        paused = await service.pause(run.id)
        assert paused.status is TaskStatus.PAUSED and paused.waiting is None
        resumed = await service.resume(run.id)
        assert resumed.status is TaskStatus.RUNNING and resumed.waiting is not None


async def test_a_waiting_run_executes_again_when_due(database_url: str) -> None:
    """Read over and over while it runs: PENDING only before it first
    started, RUNNING (waiting, then executing) until it ends."""
    async with served(database_url, definitions=(Sleepy,)) as (app, _):
        run = await app.service.trigger(Sleepy, {"delay": 0.3})
        seen: list[tuple[str, bool]] = []

        async def ended() -> bool:
            view = await app.service.get(run.id)
            seen.append((view.status.value, view.waiting is not None))
            return view.has_ended

        await eventually(ended, interval=0.02)
        assert (await app.service.get(run.id)).output == "woke"
        started = next(i for i, (status, _) in enumerate(seen) if status != "PENDING")
        assert all(status != "PENDING" for status, _ in seen[started:]), seen
        assert ("RUNNING", True) in seen
        assert seen[-1] == ("SUCCEEDED", False)

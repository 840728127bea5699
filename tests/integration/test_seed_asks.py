"""What the seeds still asked for, on SQLite and PostgreSQL: `abortable =
False`, `pause_mode = "cancel"`, `lastWorkerId`, the `definitionIds` and
`requested` filters, and `history(first: -1)`; through TaskService and
GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from taskloom.definitions import (
    Conflict,
    Retry,
    RunRequest,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.definitions.filters import RunFilter
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, error, served
from tests.support.waiting import eventually

WAIT = 10.0


class Unabortable(TaskDefinition[Any]):
    id = "seed-unabortable"
    abortable = False

    async def run(self, controller: TaskController[Any]) -> Any:
        return "ok"


class CancelOnPause(TaskDefinition[Any]):
    """Saves {"step": 1} in its first iteration; the second never polls and
    would save {"step": "lost"}: only pause_mode = "cancel" stops it."""

    id = "seed-cancel-on-pause"
    pause_mode = "cancel"
    entered: ClassVar[asyncio.Event | None] = None

    async def run(self, controller: TaskController[Any]) -> Any:
        step = controller.state.get("step", 0)
        if step == 0:
            return controller.response.continue_(state={"step": 1})
        if controller.state.get("resumed"):
            return {"finished_from": controller.state}
        assert CancelOnPause.entered is not None
        CancelOnPause.entered.set()
        controller.state["step"] = "lost"
        await asyncio.sleep(60)
        return controller.response.continue_(state={"step": "lost"})


class Holder(TaskDefinition[Any]):
    """Runs until `gate` opens, so a request stays pending until then."""

    id = "seed-holder"
    gate: ClassVar[asyncio.Event | None] = None

    async def run(self, controller: TaskController[Any]) -> Any:
        await eventually(
            lambda: controller.runtime.is_aborted() or controller.runtime.is_pause_requested()
        )
        assert Holder.gate is not None
        await Holder.gate.wait()
        if controller.runtime.is_aborted():
            return controller.response.aborted("stopped")
        return controller.response.continue_(state={"paused": True})


class Flaky(TaskDefinition[Any]):
    """Fails 11 times, then succeeds: 12 attempts, all kept."""

    id = "seed-flaky"
    retry = Retry(attempts=20, wait_seconds=0)
    max_results = 0

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.run.attempt < 11:
            raise RuntimeError(f"attempt {controller.run.attempt}")
        return controller.run.attempt


async def test_an_unabortable_definition_refuses_abort(make_app: Any) -> None:
    app: Taskloom = await make_app(Unabortable, worker=False)
    run = await app.service.trigger(Unabortable.id)
    assert not run.can_abort and run.can_pause
    with pytest.raises(Conflict, match="cannot be aborted"):
        await app.service.abort(run.id)
    assert (await app.service.get(run.id)).status is TaskStatus.PENDING


async def test_pause_mode_cancel_stops_the_iteration_keeping_the_saved_state(
    make_app: Any,
) -> None:
    CancelOnPause.entered = asyncio.Event()
    app: Taskloom = await make_app(CancelOnPause)
    run = await app.service.trigger(CancelOnPause.id)
    await asyncio.wait_for(CancelOnPause.entered.wait(), WAIT)
    await app.service.pause(run.id)
    paused = await app.service.wait(run.id, {TaskStatus.PAUSED}, timeout=WAIT)
    assert paused.state == {"step": 1}, "the cancelled iteration's state is not saved"
    assert paused.requested is None and paused.can_resume
    assert paused.iterations == 2
    page = await app.service.logs(run.id, first=50)
    assert "the iteration was cancelled by a pause request" in [e.message for e in page.items]


async def test_last_worker_id_outlives_the_run(make_app: Any) -> None:
    app: Taskloom = await make_app(Unabortable)
    run = await app.service.wait((await app.service.trigger(Unabortable.id)).id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.worker_id is None
    assert app.worker is not None and run.last_worker_id == app.worker.worker_id


async def test_filters_on_definitions_and_pending_requests(make_app: Any) -> None:
    Holder.gate = asyncio.Event()
    app: Taskloom = await make_app(Holder, Unabortable)
    tasks = app.service
    aborting = await tasks.trigger(Holder.id, name="aborting")
    pausing = await tasks.trigger(Holder.id, name="pausing")
    other = await tasks.trigger(Unabortable.id, delay=3600)
    for run in (aborting, pausing):
        await tasks.wait(run.id, {TaskStatus.RUNNING}, timeout=WAIT)

    def names(page: Any) -> set[str | None]:
        return {run.name for run in page.items}

    both = RunFilter(definition_ids=(Holder.id, Unabortable.id))
    assert {r.id for r in (await tasks.list_runs(both)).items} == {
        aborting.id,
        pausing.id,
        other.id,
    }
    assert await tasks.count_runs(RunFilter(definition_ids=(Unabortable.id,))) == 1
    assert await tasks.count_runs(RunFilter(definition_ids=())) == 0
    assert await tasks.count_runs(RunFilter(requested=("PAUSE", "ABORT"))) == 0
    # The requests are written at once; the iterations honour them later.
    await tasks.abort(aborting.id)
    await tasks.pause(pausing.id)
    requested = await tasks.list_runs(RunFilter(requested=("PAUSE", "ABORT")))
    assert {(r.id, r.requested) for r in requested.items} == {
        (aborting.id, RunRequest.ABORT),
        (pausing.id, RunRequest.PAUSE),
    }
    only_pause = await tasks.list_runs(RunFilter(requested=("PAUSE",)))
    assert [r.id for r in only_pause.items] == [pausing.id]
    Holder.gate.set()
    ended = [await tasks.wait(aborting.id, timeout=WAIT)]
    ended.append(await tasks.wait(pausing.id, {TaskStatus.PAUSED}, timeout=WAIT))
    assert [r.status for r in ended] == [TaskStatus.ABORTED, TaskStatus.PAUSED]
    assert await tasks.count_runs(RunFilter(requested=("ABORT",), definition_id=Holder.id)) == 0
    assert names(await tasks.list_runs(RunFilter(definition_ids=(Holder.id,)))) == {
        "aborting",
        "pausing",
    }


async def test_requested_filter_over_graphql(database_url: str) -> None:
    Holder.gate = asyncio.Event()
    async with served(database_url, definitions=(Holder,)) as (app, client):
        run = await app.service.trigger(Holder.id)
        await app.service.wait(run.id, {TaskStatus.RUNNING}, timeout=WAIT)
        await app.service.abort(run.id)  # asked of the iteration, held by the gate
        query = """query($r: [RunRequest!], $d: [ID!]) {
            taskRuns(where: {requested: $r, definitionIds: $d}) { totalCount }
        }"""
        found = await data(client, query, {"r": ["ABORT"], "d": [Holder.id]})
        assert found["taskRuns"]["totalCount"] == 1
        found = await data(client, query, {"r": ["PAUSE"], "d": [Holder.id]})
        assert found["taskRuns"]["totalCount"] == 0
        refused = await error(client, query, {"r": ["LATER"], "d": []})
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        Holder.gate.set()
        assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.ABORTED


async def test_history_first_minus_one_returns_every_record(database_url: str) -> None:
    async with served(database_url, definitions=(Flaky, Unabortable)) as (app, client):
        run = await app.service.wait((await app.service.trigger(Flaky.id)).id, timeout=WAIT)
        assert run.attempt == 11
        every = await app.service.history(run.id, first=-1)
        assert [r.attempt for r in every] == list(range(11, -1, -1))
        assert [r.attempt for r in await app.service.history(run.id, first=-1, skip=10)] == [1, 0]
        query = """query($id: ID!) {
            taskRun(id: $id) { all: history(first: -1) { attempt } ten: history { attempt }
                               lastWorkerId definition { abortable pauseMode } }
        }"""
        found = (await data(client, query, {"id": run.id}))["taskRun"]
        assert [r["attempt"] for r in found["all"]] == list(range(11, -1, -1))
        assert len(found["ten"]) == 10
        assert found["lastWorkerId"] == app.worker.worker_id  # type: ignore[union-attr]
        assert found["definition"] == {"abortable": True, "pauseMode": "poll"}
        unabortable = await app.service.trigger(Unabortable.id, delay=3600)
        refused = await error(
            client, "mutation($id: ID!) { abortTask(id: $id) { id } }", {"id": unabortable.id}
        )
        assert refused["extensions"]["code"] == "CONFLICT"
        query = "query($id: ID!) { taskRun(id: $id) { canAbort } }"
        assert (await data(client, query, {"id": unabortable.id}))["taskRun"] == {"canAbort": False}

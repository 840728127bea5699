"""Run dependencies: `trigger(..., after=[ids])` starts a run once each run
it depends on has SUCCEEDED, and fails it with DEPENDENCY_FAILED, naming the
run, once one ends otherwise. Through TaskService, the sync twin and
GraphQL."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from taskloom.definitions import (
    InvalidInput,
    NotFound,
    TaskController,
    TaskDefinition,
    TaskStatus,
    WaitReason,
)
from taskloom.server.sync_service import SyncTaskService
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, error, served
from tests.support.waiting import eventually, reason_of

WAIT = 15.0


class StepInput(BaseModel):
    name: str
    fail: bool = False
    hold: bool = False


class Step(TaskDefinition[StepInput]):
    id = "deps-step"
    started: ClassVar[list[str]] = []
    released: ClassVar[set[str]] = set()

    async def run(self, controller: TaskController[StepInput]) -> Any:
        name = controller.input.name
        if controller.input.hold and name not in Step.released:
            return controller.response.continue_(delay=0.05)
        Step.started.append(name)
        if controller.input.fail:
            return controller.response.error(f"{name} failed", "STEP")
        return name


def setup_function() -> None:
    Step.started.clear()
    Step.released.clear()


async def test_a_run_starts_after_its_dependencies_succeed(make_app: Any) -> None:
    app: Taskloom = await make_app(Step)
    first = await app.service.trigger(Step, {"name": "a", "hold": True})
    second = await app.service.trigger(Step, {"name": "b", "hold": True})
    last = await app.service.trigger(Step, {"name": "c"}, after=[first.id, second.id])
    assert reason_of(last) is WaitReason.DEPENDENCIES
    assert last.status is TaskStatus.PENDING
    Step.released.add("a")
    await app.service.wait(first.id, timeout=WAIT)
    assert reason_of(await app.service.get(last.id)) is WaitReason.DEPENDENCIES
    Step.released.add("b")
    done = await app.service.wait(last.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert Step.started == ["a", "b", "c"]
    assert reason_of(done) is None


async def test_a_failed_dependency_fails_the_run_and_names_it(make_app: Any) -> None:
    app: Taskloom = await make_app(Step)
    ok = await app.service.trigger(Step, {"name": "ok"})
    bad = await app.service.trigger(Step, {"name": "bad", "fail": True, "hold": True})
    dependent = await app.service.trigger(Step, {"name": "dep"}, after=[ok.id, bad.id])
    # ...and what depends on it, in turn.
    further = await app.service.trigger(Step, {"name": "further"}, after=[dependent.id])
    Step.released.add("bad")
    failed = await app.service.wait(dependent.id, timeout=WAIT)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.code == "DEPENDENCY_FAILED"
    assert failed.error.message == f"dependency {bad.id} ended FAILED"
    assert failed.iterations == 0
    chained = await app.service.wait(further.id, timeout=WAIT)
    assert chained.error is not None
    assert chained.error.code == "DEPENDENCY_FAILED"
    assert dependent.id in chained.error.message
    assert "dep" not in Step.started
    assert "further" not in Step.started
    logs = await app.service.logs(dependent.id)
    assert [line.message for line in logs.items] == [failed.error.message]


async def test_after_a_run_that_already_ended(make_app: Any) -> None:
    app: Taskloom = await make_app(Step)
    ok = await app.service.trigger(Step, {"name": "ok"})
    bad = await app.service.trigger(Step, {"name": "bad", "fail": True})
    await app.service.wait(ok.id, timeout=WAIT)
    await app.service.wait(bad.id, timeout=WAIT)
    ready = await app.service.trigger(Step, {"name": "ready"}, after=[ok.id])
    assert reason_of(ready) is None
    assert (await app.service.wait(ready.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    doomed = await app.service.trigger(Step, {"name": "doomed"}, after=[bad.id])
    assert doomed.status is TaskStatus.FAILED
    assert doomed.error is not None and doomed.error.code == "DEPENDENCY_FAILED"


async def test_dependencies_must_exist_and_cycles_cannot_be_made(make_app: Any) -> None:
    app: Taskloom = await make_app(Step, worker=False)
    with pytest.raises(NotFound, match="no-such-run"):
        await app.service.trigger(Step, {"name": "x"}, after=["no-such-run"])
    # A run can only name runs that exist before it, so no run can depend on
    # itself or on one that depends on it: no cycle can be written.
    first = await app.service.trigger(Step, {"name": "first"})
    second = await app.service.trigger(Step, {"name": "second"}, after=[first.id])
    assert reason_of(second) is WaitReason.DEPENDENCIES
    with pytest.raises(InvalidInput, match="after"):
        await app.service.trigger(Step, {"name": "x"}, after=[first.id], idempotency_key="k")
    with pytest.raises(InvalidInput, match="after"):
        await app.service.trigger(Step, {"name": "x"}, after=first.id)
    assert await app.service.count_runs() == 2


async def test_a_waiting_dependent_can_be_paused_and_resumed(make_app: Any) -> None:
    app: Taskloom = await make_app(Step)
    first = await app.service.trigger(Step, {"name": "a", "hold": True})
    second = await app.service.trigger(Step, {"name": "b"}, after=[first.id])
    paused = await app.service.pause(second.id)
    assert paused.status is TaskStatus.PAUSED
    resumed = await app.service.resume(second.id)
    # Resumed, it still waits for its dependency.
    assert reason_of(resumed) is WaitReason.DEPENDENCIES
    await asyncio.sleep(0.3)
    assert "b" not in Step.started
    Step.released.add("a")
    assert (await app.service.wait(second.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED


async def test_the_sync_twin_triggers_after(database_url: str) -> None:
    with SyncTaskService.open(
        database_url, definitions=[Step], worker=True, load_entry_points=False
    ) as service:
        first = service.trigger(Step, {"name": "a"})
        second = service.trigger(Step, {"name": "b"}, after=[first.id])
        done = service.wait(second.id, timeout=WAIT)
        assert done.status is TaskStatus.SUCCEEDED


TRIGGER = """mutation($input: JSON, $after: [ID!]) {
  triggerTask(definitionId: "deps-step", input: $input, after: $after) {
    id status waiting { reason } error { code message }
  }
}"""
RUN = "query($id: ID!) { taskRun(id: $id) { status waiting { reason } error { code message } } }"


async def test_graphql_after(database_url: str) -> None:
    async with served(database_url, definitions=(Step,)) as (_app, client):
        first = (await data(client, TRIGGER, {"input": {"name": "a", "hold": True}}))["triggerTask"]
        second = (await data(client, TRIGGER, {"input": {"name": "b"}, "after": [first["id"]]}))[
            "triggerTask"
        ]
        assert second["status"] == "PENDING"
        assert second["waiting"] == {"reason": "DEPENDENCIES"}
        Step.released.add("a")

        async def succeeded() -> bool:
            run = (await data(client, RUN, {"id": second["id"]}))["taskRun"]
            return bool(run["status"] == "SUCCEEDED" and run["waiting"] is None)

        await eventually(succeeded, WAIT)
        missing = await error(client, TRIGGER, {"input": {"name": "c"}, "after": ["nope"]})
        assert missing["extensions"]["code"] == "NOT_FOUND"


class Flaky(TaskDefinition[StepInput]):
    """Fails its first attempt, succeeds when retried."""

    id = "deps-flaky"

    async def run(self, controller: TaskController[StepInput]) -> Any:
        if controller.run.attempt == 0:
            return controller.response.error("first attempt fails", "FIRST")
        return controller.input.name


async def test_a_retried_dependent_waits_for_its_dependencies_again(make_app: Any) -> None:
    app: Taskloom = await make_app(Step, Flaky)
    source = await app.service.trigger(Flaky, {"name": "source"})
    report = await app.service.trigger(Step, {"name": "report"}, after=[source.id])
    failed = await app.service.wait(report.id, timeout=WAIT)
    assert failed.error is not None and failed.error.code == "DEPENDENCY_FAILED"
    # Retried while its dependency is still FAILED: it fails again, unrun.
    again = await app.service.retry(report.id)
    assert again.status is TaskStatus.FAILED
    assert again.error is not None and again.error.code == "DEPENDENCY_FAILED"
    # Once the dependency has been retried and has SUCCEEDED, it runs.
    await app.service.retry(source.id)
    assert (await app.service.wait(source.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    retried = await app.service.retry(report.id)
    assert retried.attempt == 2
    done = await app.service.wait(retried.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert Step.started == ["report"]

"""Fan-in: `wait_for_children` parks a run, holding no worker slot and using
no iteration, until every child has ended; it wakes once, also after a
restart of its worker."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus, WaitReason
from taskloom.definitions.filters import RunFilter
from taskloom.server.taskloom import Taskloom
from tests.support.waiting import eventually, reason_of

WAIT = 15.0


class LeafInput(BaseModel):
    n: int
    fail: bool = False
    hold: bool = False


class Leaf(TaskDefinition[LeafInput]):
    id = "fanin-leaf"
    released: ClassVar[set[int]] = set()

    async def run(self, controller: TaskController[LeafInput]) -> Any:
        if controller.input.hold and controller.input.n not in Leaf.released:
            return controller.response.continue_(delay=0.05)
        if controller.input.fail:
            return controller.response.error(f"leaf {controller.input.n} failed", "LEAF")
        return controller.input.n * 10


class FanInInput(BaseModel):
    width: int = 3
    hold: bool = False
    fail_one: bool = False


class FanIn(TaskDefinition[FanInInput]):
    id = "fanin-parent"
    wakes: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[FanInInput]) -> Any:
        if controller.state.get("waited"):
            FanIn.wakes.append(controller.run.id)
            children = await controller.children()
            return {
                "statuses": sorted(str(c.status) for c in children),
                "outputs": sorted(c.output for c in children if c.output is not None),
            }
        width, hold = controller.input.width, controller.input.hold
        for n in range(width):
            fail = controller.input.fail_one and n == 0
            controller.trigger(Leaf, {"n": n, "fail": fail, "hold": hold})
        return controller.response.wait_for_children(state={"waited": True})


class Childless(TaskDefinition[FanInInput]):
    id = "fanin-childless"

    async def run(self, controller: TaskController[FanInInput]) -> Any:
        if controller.state.get("waited"):
            return "woke"
        return controller.response.wait_for_children(state={"waited": True})


DEFS = (Leaf, FanIn, Childless)


def setup_function() -> None:
    Leaf.released.clear()
    FanIn.wakes.clear()


async def test_a_parent_reads_its_childrens_outcomes_after_waiting(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger(FanIn, {"width": 3, "fail_one": True})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"statuses": ["FAILED", "SUCCEEDED", "SUCCEEDED"], "outputs": [10, 20]}
    # One iteration to fan out, one to fan in: the wait itself used none.
    assert done.iterations == 2
    assert reason_of(done) is None
    assert FanIn.wakes == [run.id]


async def test_the_waiting_run_reads_as_waiting_and_holds_no_slot(make_app: Any) -> None:
    # One slot: the children could not run if the waiting parent held it.
    app: Taskloom = await make_app(*DEFS, worker_concurrency=1)
    run = await app.service.trigger(FanIn, {"width": 2, "hold": True})

    async def waiting() -> bool:
        view = await app.service.get(run.id)
        return reason_of(view) is WaitReason.CHILDREN

    await eventually(waiting, WAIT)
    view = await app.service.get(run.id)
    # Started, not executing: RUNNING, waiting for its children, on no worker.
    assert view.status is TaskStatus.RUNNING
    assert view.waiting is not None and view.waiting.until is None
    assert str(view.waiting) == "waiting for its children"
    assert view.iterations == 1
    assert view.worker_id is None
    Leaf.released.update({0, 1})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.iterations == 2
    assert FanIn.wakes == [run.id]


async def test_a_run_without_children_wakes_at_once(make_app: Any) -> None:
    app: Taskloom = await make_app(*DEFS)
    run = await app.service.trigger(Childless, {})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert (done.status, done.output, done.iterations) == (TaskStatus.SUCCEEDED, "woke", 2)


async def test_the_wait_survives_a_restart_of_the_worker(make_app: Any, database_url: str) -> None:
    first: Taskloom = await make_app(*DEFS)
    run = await first.service.trigger(FanIn, {"width": 2, "hold": True})

    async def waiting() -> bool:
        view = await first.service.get(run.id)
        return reason_of(view) is WaitReason.CHILDREN

    await eventually(waiting, WAIT)
    await first.stop(grace=0.5)
    Leaf.released.update({0, 1})
    second: Taskloom = await make_app(*DEFS)
    done = await second.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output["outputs"] == [0, 10]
    assert FanIn.wakes == [run.id]
    children = await second.service.list_runs(RunFilter(parent_id=run.id))
    assert {c.status for c in children.items} == {TaskStatus.SUCCEEDED}

"""Child runs: written in the same transaction as the parent's outcome,
never when the iteration fails, never twice when it is retried."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pytest
from pydantic import BaseModel

from taskloom.definitions import (
    InvalidInput,
    Retry,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.definitions.filters import RunFilter
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class ChildInput(BaseModel):
    n: int
    label: str = "child"


class Child(TaskDefinition[ChildInput]):
    id = "kids-child"

    async def run(self, controller: TaskController[ChildInput]) -> Any:
        return {"n": controller.input.n, "parent": controller.run.parent_id}

    def on_before_trigger(self, input: ChildInput) -> ChildInput | None:
        if input.label == "rejected":
            raise InvalidInput("this child is rejected")
        return None


class ParentInput(BaseModel):
    mode: Literal["fan-out", "fail", "retry", "bad-child", "rejected-child", "delayed"]


class Parent(TaskDefinition[ParentInput]):
    id = "kids-parent"
    retry = Retry(attempts=0)
    seen_during: ClassVar[list[list[Any]]] = []

    async def run(self, controller: TaskController[ParentInput]) -> Any:
        mode = controller.input.mode
        if controller.state.get("started"):
            children = await controller.children()
            return {"children": sorted(c.input["n"] for c in children)}
        if mode == "bad-child":
            controller.trigger(Child, {"n": "not a number"})
        if mode == "rejected-child":
            controller.trigger(Child, {"n": 1, "label": "rejected"})
            return controller.response.continue_(state={"started": True})
        first = controller.trigger("kids-child", {"n": 1}, name="first", priority=3)
        controller.trigger(Child, {"n": 2}, delay=60 if mode == "delayed" else None)
        Parent.seen_during.append(await controller.children())
        if mode == "fail":
            raise RuntimeError("failed after triggering")
        if mode == "retry" and controller.run.attempt == 0:
            raise RuntimeError("first attempt fails after triggering")
        if mode == "retry":
            return {"retried": True, "first": first}
        return controller.response.continue_(state={"started": True, "first": first})


class RetriedParent(Parent):
    id = "kids-retried-parent"
    retry = Retry(attempts=1, wait_seconds=0)


DEFS = (Child, Parent, RetriedParent)


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    Parent.seen_during.clear()
    started: Taskloom = await make_app(*DEFS)
    return started


async def children_of(app: Taskloom, run_id: str) -> list[Any]:
    page = await app.service.list_runs(RunFilter(parent_id=run_id), order="CREATED_AT_ASC")
    return page.items


async def test_children_are_written_with_the_parents_outcome(app: Taskloom) -> None:
    run = await app.service.trigger("kids-parent", {"mode": "fan-out"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.output == {"children": [1, 2]}
    # During the iteration that triggered them, they did not exist yet.
    assert Parent.seen_during == [[]]
    children = await children_of(app, run.id)
    assert len(children) == 2
    first = next(c for c in children if c.input["n"] == 1)
    assert first.id == run.state["first"]
    assert first.name == "first"
    assert first.priority == 3
    assert first.input == {"n": 1, "label": "child"}, "input is validated, defaults applied"
    for child in children:
        assert child.parent_id == run.id
        assert child.definition_id == "kids-child"
        done = await app.service.wait(child.id, timeout=WAIT)
        assert done.status is TaskStatus.SUCCEEDED
        assert done.output == {"n": child.input["n"], "parent": run.id}


async def test_a_child_with_a_delay_is_due_later(app: Taskloom) -> None:
    run = await app.service.trigger("kids-parent", {"mode": "delayed"})
    run = await app.service.wait(run.id, timeout=WAIT)
    delayed = next(c for c in await children_of(app, run.id) if c.input["n"] == 2)
    assert delayed.status is TaskStatus.PENDING
    assert delayed.run_at.timestamp() - delayed.created_at.timestamp() == pytest.approx(60, abs=1)


async def test_no_child_is_written_when_the_iteration_fails(app: Taskloom) -> None:
    run = await app.service.trigger("kids-parent", {"mode": "fail"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert await children_of(app, run.id) == []
    assert await app.service.count_runs() == 1


async def test_a_retried_iteration_does_not_duplicate_its_children(app: Taskloom) -> None:
    run = await app.service.trigger("kids-retried-parent", {"mode": "retry"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.SUCCEEDED
    assert run.attempt == 1
    children = await children_of(app, run.id)
    assert sorted(c.input["n"] for c in children) == [1, 2]
    assert run.output["first"] in {c.id for c in children}


async def test_a_child_with_invalid_input_fails_the_iteration(app: Taskloom) -> None:
    run = await app.service.trigger("kids-parent", {"mode": "bad-child"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None and run.error.code == "InvalidInput"
    assert await children_of(app, run.id) == []


async def test_a_child_refused_by_its_on_before_trigger_fails_the_parent(app: Taskloom) -> None:
    run = await app.service.trigger("kids-parent", {"mode": "rejected-child"})
    run = await app.service.wait(run.id, timeout=WAIT)
    assert run.status is TaskStatus.FAILED
    assert run.error is not None
    assert "this child is rejected" in run.error.message
    assert await children_of(app, run.id) == []
    assert run.worker_id is None


async def test_trigger_with_a_parent_id_links_the_run(app: Taskloom) -> None:
    parent = await app.service.trigger("kids-child", {"n": 0}, delay=60)
    child = await app.service.trigger("kids-child", {"n": 5}, parent_id=parent.id)
    assert child.parent_id == parent.id
    assert [c.id for c in await children_of(app, parent.id)] == [child.id]

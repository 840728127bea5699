"""Cascading abort: aborting a run aborts its unfinished children and the
runs triggered after it (and theirs), unless `cascade=False`; each aborted
run records who aborted it and why."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from taskloom.definitions import NotFound, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.server.auth.identity import Actor, Role
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served
from tests.support.waiting import eventually

WAIT = 15.0


class Slow(TaskDefinition[Any]):
    """Continues until aborted."""

    id = "cascade-slow"

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.runtime.is_aborted():
            return controller.response.aborted()
        return controller.response.continue_(delay=0.05)


class TreeInput(BaseModel):
    leaf: bool = False


class Tree(TaskDefinition[TreeInput]):
    """Fans out two slow children and (unless a leaf) a subtree, then waits."""

    id = "cascade-tree"

    async def run(self, controller: TaskController[TreeInput]) -> Any:
        if controller.state.get("fanned"):
            return "children ended"
        controller.trigger(Slow, {})
        controller.trigger(Slow, {}, delay=3600)  # not started: aborted at once
        if not controller.input.leaf:
            controller.trigger(Tree, {"leaf": True})
        return controller.response.wait_for_children(state={"fanned": True})


async def _descendants(app: Taskloom, run_id: str) -> list[Any]:
    found, frontier = [], [run_id]
    while frontier:
        page = await app.service.list_runs(RunFilter(parent_id=frontier.pop()))
        found += page.items
        frontier += [run.id for run in page.items]
    return found


async def test_aborting_a_parent_aborts_its_tree_and_its_dependents(make_app: Any) -> None:
    app: Taskloom = await make_app(Slow, Tree)
    root = await app.service.trigger(Tree, {})

    async def fanned_out() -> bool:
        return len(await _descendants(app, root.id)) == 5

    await eventually(fanned_out, WAIT)
    dependent = await app.service.trigger(Slow, {}, after=[root.id])
    alice = Actor("alice", Role.ADMIN)
    await app.service.abort(root.id, "not needed", actor=alice)
    ended = await app.service.wait(root.id, timeout=WAIT)
    assert (ended.status, ended.aborted_by, ended.abort_reason) == (
        TaskStatus.ABORTED,
        "alice",
        "not needed",
    )
    for run in [*await _descendants(app, root.id), dependent]:
        done = await app.service.wait(run.id, timeout=WAIT)
        assert done.status is TaskStatus.ABORTED, done
        assert done.aborted_by == "alice"
        assert done.abort_reason is not None
        assert done.abort_reason.endswith(": not needed")
    child = (await _descendants(app, root.id))[0]
    child_done = await app.service.get(child.id)
    assert child_done.abort_reason == f"its parent run {root.id} was aborted: not needed"
    dependent_done = await app.service.get(dependent.id)
    assert dependent_done.abort_reason == (
        f"run {root.id}, which it runs after, was aborted: not needed"
    )
    assert dependent_done.error is not None
    assert dependent_done.error.message == dependent_done.abort_reason


async def test_without_cascade_the_children_run_on(make_app: Any) -> None:
    app: Taskloom = await make_app(Slow, Tree)
    root = await app.service.trigger(Tree, {"leaf": True})

    async def fanned_out() -> bool:
        return len(await _descendants(app, root.id)) == 2

    await eventually(fanned_out, WAIT)
    dependent = await app.service.trigger(Slow, {}, after=[root.id])
    await app.service.abort(root.id, cascade=False)
    ended = await app.service.wait(root.id, timeout=WAIT)
    assert ended.status is TaskStatus.ABORTED
    assert ended.aborted_by is None  # backend code: the system
    for child in await _descendants(app, root.id):
        assert not (await app.service.get(child.id)).has_ended
    # The dependent is not aborted, but can no longer start.
    failed = await app.service.wait(dependent.id, timeout=WAIT)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None
    assert failed.error.message == f"dependency {root.id} ended ABORTED"


async def test_a_users_cascade_stops_at_runs_of_others(make_app: Any) -> None:
    app: Taskloom = await make_app(Slow, Tree, worker=False)
    bob, carol = Actor("bob", Role.USER), Actor("carol", Role.USER)
    root = await app.service.trigger(Slow, {}, actor=bob)
    own = await app.service.trigger(Slow, {}, actor=bob, after=[root.id])
    theirs = await app.service.trigger(Slow, {}, actor=Actor("admin", Role.ADMIN))
    # A user can only wait for runs it can see...
    with pytest.raises(NotFound):
        await app.service.trigger(Slow, {}, actor=carol, after=[root.id])
    # ...a developer sees every run, but bob may not abort dave's.
    others = await app.service.trigger(
        Slow, {}, actor=Actor("dave", Role.DEVELOPER), after=[root.id]
    )
    await app.service.abort(root.id, actor=bob)
    assert (await app.service.get(own.id)).status is TaskStatus.ABORTED
    assert (await app.service.get(others.id)).status is TaskStatus.PENDING
    assert (await app.service.get(theirs.id)).status is TaskStatus.PENDING


ABORT = """mutation($id: ID!, $cascade: Boolean!) {
  abortTask(id: $id, message: "stop", cascade: $cascade) { status abortedBy abortReason }
}"""
RUN = "query($id: ID!) { taskRun(id: $id) { status abortedBy abortReason } }"


async def test_graphql_abort_cascades_unless_told_not_to(database_url: str) -> None:
    async with served(database_url, definitions=(Slow, Tree), worker=False) as (app, client):
        for cascade in (True, False):
            root = await app.service.trigger(Slow, {})
            dependent = await app.service.trigger(Slow, {}, after=[root.id])
            aborted = (await data(client, ABORT, {"id": root.id, "cascade": cascade}))["abortTask"]
            assert aborted == {"status": "ABORTED", "abortedBy": "local", "abortReason": "stop"}
            after = (await data(client, RUN, {"id": dependent.id}))["taskRun"]
            if cascade:
                assert after["status"] == "ABORTED"
                why = f"run {root.id}, which it runs after, was aborted: stop"
                assert after["abortReason"] == why
            else:
                assert after["status"] == "PENDING"

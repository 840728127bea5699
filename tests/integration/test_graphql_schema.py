"""The schema executed directly against a real service (no HTTP): queries
with nested relations, and both subscriptions fed by the engine's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from strawberry.types import ExecutionResult

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.schema import Context, schema
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import Echo, Waiter
from tests.support.waiting import eventually

GATE: dict[str, asyncio.Event] = {}


class Gated(TaskDefinition[Any]):
    """Writes one line per iteration, three in all, once the test opens the gate."""

    id = "gated"

    async def run(self, controller: TaskController[Any]) -> Any:
        await GATE["open"].wait()
        n = controller.state.get("n", 0) + 1
        controller.log.info(f"line {n}", data={"n": n})
        if n < 3:
            return controller.response.continue_(state={"n": n})
        return controller.response.done(output={"lines": n})


async def execute(app: Taskloom, query: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        query, variable_values=variables, context_value=Context(service=app.service)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def subscribe(
    app: Taskloom, query: str, **variables: Any
) -> AsyncGenerator[ExecutionResult, None]:
    context = Context(service=app.service, cache=False)
    stream = await schema.subscribe(query, variable_values=variables, context_value=context)
    assert not isinstance(stream, ExecutionResult), stream.errors
    return stream


async def collect(stream: AsyncGenerator[ExecutionResult, None], limit: float) -> list[Any]:
    """Every result until the stream completes by itself (within `limit`)."""

    async def drain() -> list[Any]:
        found = []
        async for result in stream:
            assert result.errors is None, result.errors
            found.append(result.data)
        return found

    return await asyncio.wait_for(drain(), limit)


async def test_runs_with_parent_children_and_definition(make_app: Any) -> None:
    app = await make_app(Echo, Waiter, worker=False)
    parent = await app.service.trigger("waiter", name="parent")
    kids = [
        await app.service.trigger("echo", {"text": str(i)}, parent_id=parent.id) for i in range(3)
    ]
    data = await execute(
        app,
        """query($id: ID!) {
          taskRun(id: $id) {
            name definition { id }
            children(first: 2) {
              totalCount pageInfo { hasNextPage endCursor }
              edges { node { id input parent { name } } }
            }
          }
        }""",
        id=parent.id,
    )
    run = data["taskRun"]
    assert run["name"] == "parent" and run["definition"] == {"id": "waiter"}
    children = run["children"]
    assert children["totalCount"] == 3 and children["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["id"] for e in children["edges"]] == [k.id for k in kids[:2]]
    assert children["edges"][0]["node"]["parent"] == {"name": "parent"}
    rest = await execute(
        app,
        "query($id: ID!, $after: String) { taskRun(id: $id) { children(after: $after) {"
        " pageInfo { hasNextPage } edges { node { id } } } } }",
        id=parent.id,
        after=children["pageInfo"]["endCursor"],
    )
    page = rest["taskRun"]["children"]
    assert [e["node"]["id"] for e in page["edges"]] == [kids[2].id]
    assert page["pageInfo"]["hasNextPage"] is False


async def test_task_run_updated_follows_a_run_to_its_end(make_app: Any) -> None:
    app = await make_app(Echo)
    run = await app.service.trigger("echo", {"text": "x", "times": 3})
    stream = await subscribe(
        app,
        "subscription($id: ID!) { taskRunUpdated(id: $id) {"
        " status iterations progress { current } output } }",
        id=run.id,
    )
    updates = [d["taskRunUpdated"] for d in await collect(stream, 20)]
    assert updates[-1]["status"] == "SUCCEEDED"
    assert updates[-1]["output"] == {"text": "x"}
    assert updates[-1]["iterations"] == 3
    assert all(u["status"] != "SUCCEEDED" for u in updates[:-1])
    iterations = [u["iterations"] for u in updates]
    assert iterations == sorted(iterations)
    assert updates[-1]["progress"] == {"current": 3.0}


async def test_task_run_updated_on_an_ended_run_gives_it_once(make_app: Any) -> None:
    app = await make_app(Waiter, worker=False)
    run = await app.service.trigger("waiter", delay=3600)
    await app.service.abort(run.id)
    stream = await subscribe(
        app, "subscription($id: ID!) { taskRunUpdated(id: $id) { status } }", id=run.id
    )
    assert await collect(stream, 5) == [{"taskRunUpdated": {"status": "ABORTED"}}]


async def test_task_run_updated_for_an_unknown_run_is_not_found(make_app: Any) -> None:
    app = await make_app(Waiter, worker=False)
    stream = await subscribe(app, 'subscription { taskRunUpdated(id: "missing") { status } }')
    results = [r async for r in stream]
    assert len(results) == 1 and results[0].errors is not None
    assert results[0].errors[0].extensions == {"code": "NOT_FOUND"}


async def test_task_log_added_delivers_each_new_line_in_order(make_app: Any) -> None:
    GATE["open"] = asyncio.Event()
    app = await make_app(Gated)
    run = await app.service.trigger("gated")
    stream = await subscribe(
        app,
        "subscription($id: ID!) { taskLogAdded(runId: $id) { id runId level message data } }",
        id=run.id,
    )
    lines = asyncio.ensure_future(collect(stream, 20))
    hub: Any = app.service.hub
    await eventually(lambda: hub._subscribers.get(("log", run.id)))  # listening: let it write
    GATE["open"].set()
    found = [d["taskLogAdded"] for d in await lines]
    assert [line["message"] for line in found] == ["line 1", "line 2", "line 3"]
    assert [line["data"] for line in found] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert {line["runId"] for line in found} == {run.id}
    ids = [int(line["id"]) for line in found]
    assert ids == sorted(ids) and len(set(ids)) == 3

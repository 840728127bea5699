"""Parent, children and logs come through DataLoaders: a page of runs with
their relations costs the same number of SQL statements for 5 runs as for
50, counted on the engine itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from taskloom.schema import Context, schema
from taskloom.server.store.run_logs import InsertLogs
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import Echo, Waiter

QUERY = """query($first: Int!) {
  taskRuns(where: {definitionId: "waiter"}, first: $first) {
    totalCount
    edges { node {
      id parent { id }
      logs(first: 10) { totalCount edges { node { message level } } }
      children(first: 5) { totalCount edges { node {
        id parent { id name }
        logs(first: 3) { totalCount edges { node { message } } }
      } } }
    } }
  }
}"""


@contextmanager
def counting(app: Taskloom) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    engine = app.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def family(app: Taskloom, parents: int) -> None:
    """`parents` waiters, each with two echo children; two log lines each."""
    service = app.service
    tops = await service.trigger_many("waiter", [None] * parents, delay=3600)
    kids = [
        await service.trigger("echo", {"text": f"{p.id}/{i}"}, parent_id=p.id, delay=3600)
        for p in tops
        for i in range(2)
    ]
    now = time.time()
    rows = [
        {"run_id": run.id, "level": "INFO", "message": f"line {n}", "data": None,
         "iteration": 0, "created_at": now}
        for run in [*tops, *kids]
        for n in range(2)
    ]  # fmt: skip
    await app.database.run_write(InsertLogs(rows))


async def statements_for(app: Taskloom, first: int) -> tuple[list[str], dict[str, Any]]:
    with counting(app) as statements:
        result = await schema.execute(
            QUERY, variable_values={"first": first}, context_value=Context(service=app.service)
        )
    assert result.errors is None, result.errors
    assert result.data is not None
    return statements, result.data


async def test_a_page_of_runs_with_relations_costs_a_constant_number_of_queries(
    make_app: Any,
) -> None:
    app = await make_app(Echo, Waiter, worker=False)
    await family(app, 50)
    small, few = await statements_for(app, 5)
    large, many = await statements_for(app, 50)
    page = many["taskRuns"]
    assert page["totalCount"] == 50 and len(page["edges"]) == 50
    assert len(few["taskRuns"]["edges"]) == 5
    for edge in page["edges"]:
        node = edge["node"]
        assert node["logs"]["totalCount"] == 2 and len(node["logs"]["edges"]) == 2
        assert node["children"]["totalCount"] == 2
        for child in node["children"]["edges"]:
            assert child["node"]["parent"]["id"] == node["id"]
            assert [e["node"]["message"] for e in child["node"]["logs"]["edges"]] == [
                "line 0",
                "line 1",
            ]
    # list + count, then per level one batch each: children + their count,
    # parents' logs + count, children's parents, children's logs + count.
    assert len(large) == len(small) == 9, large

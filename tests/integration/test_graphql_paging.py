"""Paging through 120 runs with `first: 50` yields each run exactly once, in
every order `taskRuns` offers, including ties and null finish times."""

from __future__ import annotations

from typing import Any

import pytest

from taskloom.schema import Context, schema
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import Waiter

QUERY = """query($first: Int, $after: String, $order: TaskRunOrder!) {
  taskRuns(first: $first, after: $after, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id priority finishedAt } }
  }
}"""


async def page(app: Taskloom, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        QUERY, variable_values=variables, context_value=Context(service=app.service)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    found: dict[str, Any] = result.data["taskRuns"]
    return found


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    """120 runs: three priorities (40 ties each), 30 of them finished."""
    taskloom: Taskloom = await make_app(Waiter, worker=False)
    runs = []
    for priority in (0, 5, -5):
        runs += await taskloom.service.trigger_many(
            "waiter", [None] * 40, delay=3600, priority=priority
        )
    for run in runs[::4]:
        await taskloom.service.abort(run.id)
    return taskloom


@pytest.mark.parametrize(
    "order", ["CREATED_AT_DESC", "CREATED_AT_ASC", "PRIORITY_DESC", "FINISHED_AT_DESC"]
)
async def test_paging_120_runs_by_50_yields_each_once(app: Taskloom, order: str) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    after: str | None = None
    while True:
        found = await page(app, first=50, after=after, order=order)
        assert found["totalCount"] == 120
        edges = found["edges"]
        sizes.append(len(edges))
        seen += [edge["node"]["id"] for edge in edges]
        if edges:
            assert found["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert sizes == [50, 50, 20]
    assert len(seen) == len(set(seen)) == 120
    everything = await page(app, first=500, order=order)
    assert [edge["node"]["id"] for edge in everything["edges"]] == seen


async def test_first_defaults_to_50_and_is_capped_at_500(app: Taskloom) -> None:
    found = await page(app, order="CREATED_AT_DESC")
    assert len(found["edges"]) == 50 and found["pageInfo"]["hasNextPage"] is True
    capped = await page(app, first=10_000, order="CREATED_AT_DESC")
    assert len(capped["edges"]) == 120 and capped["pageInfo"]["hasNextPage"] is False
    empty = await page(app, first=0, order="CREATED_AT_DESC")
    assert empty["edges"] == [] and empty["pageInfo"]["endCursor"] is None
    assert empty["totalCount"] == 120

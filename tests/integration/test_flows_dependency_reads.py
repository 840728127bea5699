"""A run's dependencies and dependents are readable: GraphQL's
`TaskRun.dependencies` and `dependents` (through DataLoaders) and the
`dependsOn` filter, `dependencies(run_id)` on TaskService, the sync twin
and the remote Client; a `user` sees only its own runs among them. On
SQLite and PostgreSQL, over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from taskloom.definitions import NotFound, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.schema import Context, schema
from taskloom.server.remote import Client, SyncClient
from taskloom.server.sync_service import SyncTaskService
from tests.integration.security_support import DEFINITIONS, Server, post, serve
from tests.integration.test_graphql_dataloaders import counting

RUN = """query($id: ID!, $first: Int!, $after: String) {
  taskRun(id: $id) {
    dependencies { id name status }
    dependents(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id name } }
    }
  }
}"""
DEPENDENTS = """query($id: ID!) {
  taskRuns(where: {dependsOn: $id}, orderBy: CREATED_AT_ASC) { edges { node { name } } }
}"""


async def pipeline(service: Any, owner: str = "developer") -> dict[str, Any]:
    """extract -> two transforms in parallel -> load, none started."""
    extract = await service.trigger("sec-hold", name="extract", delay=3600, created_by=owner)
    transforms = [
        await service.trigger("sec-hold", name=name, after=[extract.id], created_by=owner)
        for name in ("transform a", "transform b")
    ]
    load = await service.trigger(
        "sec-hold", name="load", after=[t.id for t in transforms], created_by=owner
    )
    return {"extract": extract, "a": transforms[0], "b": transforms[1], "load": load}


async def ask(server: Server, who: str, query: str, variables: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=server.url) as client:
        body = (await post(client, query, variables, server.tokens[who])).json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
async def server(database_url: str) -> Any:
    async with serve(database_url, worker=False) as running:
        yield running


async def test_graphql_reads_dependencies_and_pages_dependents(server: Server) -> None:
    runs = await pipeline(server.taskloom.service)
    load = (await ask(server, "developer", RUN, {"id": runs["load"].id, "first": 1}))["taskRun"]
    assert [(r["name"], r["status"]) for r in load["dependencies"]] == [
        ("transform a", "PENDING"),
        ("transform b", "PENDING"),
    ]
    assert load["dependents"]["totalCount"] == 0
    extract = await ask(server, "developer", RUN, {"id": runs["extract"].id, "first": 1})
    first = extract["taskRun"]["dependents"]
    assert extract["taskRun"]["dependencies"] == []
    assert first["totalCount"] == 2 and first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in first["edges"]] == ["transform a"]
    after = first["pageInfo"]["endCursor"]
    variables = {"id": runs["extract"].id, "first": 1, "after": after}
    second = (await ask(server, "developer", RUN, variables))["taskRun"]["dependents"]
    assert [e["node"]["name"] for e in second["edges"]] == ["transform b"]
    assert second["pageInfo"]["hasNextPage"] is False
    listed = await ask(server, "developer", DEPENDENTS, {"id": runs["extract"].id})
    assert [e["node"]["name"] for e in listed["taskRuns"]["edges"]] == [
        "transform a",
        "transform b",
    ]


async def test_a_user_sees_only_its_own_runs_among_them(server: Server) -> None:
    service = server.taskloom.service
    theirs = await service.trigger("sec-hold", name="theirs", delay=3600, created_by="developer")
    own = await service.trigger("sec-hold", name="own", delay=3600, created_by="alice")
    after = [theirs.id, own.id]
    mine = await service.trigger("sec-hold", name="mine", after=after, created_by="alice")
    await service.trigger("sec-hold", name="other", after=[own.id], created_by="developer")
    seen = {}
    for who in ("alice", "developer"):
        found = await ask(server, who, RUN, {"id": mine.id, "first": 10})
        seen[who] = [r["name"] for r in found["taskRun"]["dependencies"]]
    assert seen == {"alice": ["own"], "developer": ["theirs", "own"]}
    dependents = (await ask(server, "alice", RUN, {"id": own.id, "first": 10}))["taskRun"]
    assert dependents["dependents"]["totalCount"] == 1
    assert [e["node"]["name"] for e in dependents["dependents"]["edges"]] == ["mine"]
    listed = await ask(server, "alice", DEPENDENTS, {"id": own.id})
    assert [e["node"]["name"] for e in listed["taskRuns"]["edges"]] == ["mine"]


async def test_the_service_the_client_and_their_sync_twins_read_dependencies(
    server: Server,
) -> None:
    service = server.taskloom.service
    runs = await pipeline(service)
    wanted = [(runs[k].id, TaskStatus.PENDING) for k in ("a", "b")]
    local = await service.dependencies(runs["load"].id)
    assert [(r.id, r.status) for r in local] == wanted
    async with Client(server.url, server.tokens["developer"]) as tasks:
        remote = await tasks.dependencies(runs["load"].id)
        assert [(r.id, r.status) for r in remote] == wanted
        dependents = await tasks.list_runs(RunFilter(depends_on=runs["extract"].id))
        assert {r.id for r in dependents.items} == {runs["a"].id, runs["b"].id}
        with pytest.raises(NotFound):
            await tasks.dependencies("no-such-run")
    with pytest.raises(NotFound):
        await service.dependencies("no-such-run")

    def sync_read() -> list[str]:  # in a thread: the server runs on this test's loop
        with SyncClient(server.url, server.tokens["developer"]) as sync_tasks:
            return [r.id for r in sync_tasks.dependencies(runs["load"].id)]

    assert await asyncio.to_thread(sync_read) == [i for i, _ in wanted]


def test_the_sync_service_reads_dependencies(database_url: str) -> None:
    with SyncTaskService.open(
        database_url, definitions=list(DEFINITIONS), worker=False, load_entry_points=False
    ) as service:
        first = service.trigger("sec-hold", delay=3600)
        second = service.trigger("sec-hold", after=[first.id])
        assert [r.id for r in service.dependencies(second.id)] == [first.id]


PAGE = """query($first: Int!) {
  taskRuns(where: {definitionId: "sec-hold", status: [PENDING]}, first: $first) {
    edges { node {
      id dependencies { id status }
      dependents(first: 5) { totalCount edges { node { id dependencies { id } } } }
    } }
  }
}"""


async def test_a_page_of_runs_reads_their_dependencies_in_a_constant_number_of_queries(
    server: Server,
) -> None:
    service = server.taskloom.service
    for _ in range(25):
        await pipeline(service)
    counts = []
    for first in (5, 50):
        with counting(server.taskloom) as statements:
            result = await schema.execute(
                PAGE, variable_values={"first": first}, context_value=Context(service=service)
            )
        assert result.errors is None, result.errors
        assert result.data is not None
        assert len(result.data["taskRuns"]["edges"]) == first
        counts.append(len(statements))
    # list, then per level one batch each: dependencies, dependents + their
    # count, the dependents' dependencies.
    assert counts[0] == counts[1], counts

"""An operation that could answer with more than TASKLOOM_MAX_QUERY_COST
nodes is refused before it executes (QUERY_TOO_COSTLY), over HTTP and
WebSocket: issue 21's attack (5 aliases of children(first: 60) three levels
deep, on a run with 60 children), and a costly mutation writes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from bench.attacks import cost_query
from tests.integration.security_support import Server, post, serve, ws_errors, ws_operation

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    path: Path = tmp_path_factory.mktemp("cost") / "taskloom.db"
    async with serve(f"sqlite+aiosqlite:///{path}", worker=False) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def parent_id(server: Server) -> str:
    """A run with 60 children, all PENDING far in the future."""
    service = server.taskloom.service
    parent = await service.trigger("sec-hold", delay=3600)
    for _ in range(60):
        await service.trigger("sec-hold", delay=3600, parent_id=parent.id)
    return parent.id


async def ask(server: Server, query: str, variables: dict[str, Any] | None = None) -> Any:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        response = await post(client, query, variables, server.tokens["developer"])
    assert response.status_code == 200
    return response.json()


def too_costly(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, str(body)[:300]
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY", error
    extensions: dict[str, Any] = error["extensions"]
    return extensions


@MODULE_LOOP
async def test_the_attack_is_refused_before_it_runs(server: Server, parent_id: str) -> None:
    extensions = too_costly(await ask(server, cost_query(parent_id)))
    assert extensions["maxCost"] == 50_000
    assert extensions["cost"] > 5 * 60**3


@MODULE_LOOP
async def test_the_attack_is_refused_over_websocket(server: Server, parent_id: str) -> None:
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    messages = await ws_operation(server, cost_query(parent_id), init_payload=admin)
    assert [e["extensions"]["code"] for e in ws_errors(messages)] == ["QUERY_TOO_COSTLY"]


@MODULE_LOOP
async def test_variables_count_as_their_values(server: Server, parent_id: str) -> None:
    query = (
        "query($id: ID!, $n: Int) { taskRun(id: $id) { children(first: $n) { edges { node { "
        "id parent { children(first: $n) { edges { node { id } } } } } } } } }"
    )
    fine = await ask(server, query, {"id": parent_id, "n": 60})
    assert len(fine["data"]["taskRun"]["children"]["edges"]) == 60
    too_costly(await ask(server, query, {"id": parent_id, "n": 500}))


@MODULE_LOOP
async def test_what_the_dashboard_and_the_cli_ask_for_costs_less(server: Server) -> None:
    page = (
        "{ taskRuns(first: 500) { totalCount edges { node { id definitionId name status "
        "priority createdAt startedAt finishedAt durationMs progress { percent display } "
        "error { message code } canAbort canPause canResume canRetry } } } }"
    )
    detail = (
        '{ taskRun(id: "x") { id input state output history(first: 20) { attempt status } '
        "children(first: 20) { totalCount edges { node { id status } } } "
        "logs(first: 500) { edges { node { id level message data iteration createdAt } } } } }"
    )
    for query in (page, detail):
        assert "errors" not in await ask(server, query)


@MODULE_LOOP
async def test_a_costly_mutation_writes_nothing(server: Server) -> None:
    before = await server.taskloom.service.count_runs()
    nested = "children(first: 500) { edges { node { id children(first: 500) { totalCount } } } }"
    mutation = (
        f'mutation {{ triggerTask(definitionId: "sec-hold", delaySeconds: 60) {{ id {nested} }} }}'
    )
    too_costly(await ask(server, mutation))
    assert await server.taskloom.service.count_runs() == before


async def test_the_limit_is_a_setting(tmp_path: Path) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'c.db'}", worker=False, max_query_cost=60
    ) as strict:
        assert "errors" not in await ask(strict, "{ taskRuns(first: 59) { totalCount } }")
        extensions = too_costly(await ask(strict, "{ taskRuns(first: 60) { totalCount } }"))
    assert extensions == {"code": "QUERY_TOO_COSTLY", "cost": 61, "maxCost": 60}

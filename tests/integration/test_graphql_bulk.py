"""Bulk mutations over real HTTP on SQLite and PostgreSQL: triggerTasks is
all or nothing and locates each refused input by `index`; abortTasks and
retryTasks act on a filter, at most `limit` runs, count what they did, and
stay within what the caller may see."""

from __future__ import annotations

import httpx
import pytest

from taskloom.definitions import TaskStatus
from taskloom.definitions.filters import RunFilter
from tests.integration.graphql_support import data, error, served
from tests.integration.security_support import Server, headers_for, serve

TRIGGER_MANY = """mutation($def: ID!, $inputs: [JSON!]!, $delay: Int, $priority: Int) {
  triggerTasks(definitionId: $def, inputs: $inputs, delaySeconds: $delay, priority: $priority) {
    id status input priority createdBy } }"""
ABORT_MANY = """mutation($where: TaskRunFilter!, $limit: Int!, $message: String) {
  abortTasks(where: $where, limit: $limit, message: $message) {
    count hasMore runs { id status createdBy error { message } } } }"""
ABORT_CASCADE = """mutation($where: TaskRunFilter!, $limit: Int!, $cascade: Boolean! = true) {
  abortTasks(where: $where, limit: $limit, cascade: $cascade) { count } }"""
RETRY_MANY = """mutation($where: TaskRunFilter!, $limit: Int!) {
  retryTasks(where: $where, limit: $limit) { count hasMore runs { id status attempt } } }"""
HELD = 3600  # far in the future: the runs stay PENDING


async def test_trigger_tasks_creates_every_run_in_order(database_url: str) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        inputs = [{"text": f"t{i}", "times": 1 + i % 3} for i in range(25)]
        runs = (
            await data(
                client, TRIGGER_MANY, {"def": "echo", "inputs": inputs, "delay": 60, "priority": 7}
            )
        )["triggerTasks"]
        assert [run["input"] for run in runs] == inputs
        assert {run["status"] for run in runs} == {"PENDING"}
        assert {run["priority"] for run in runs} == {7}
        assert len({run["id"] for run in runs}) == 25
        assert await taskloom.service.count_runs(RunFilter(definition_id="echo")) == 25


async def test_trigger_tasks_refuses_all_and_indexes_each_refused_input(database_url: str) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        inputs = [{"text": "ok"}, {"times": 2}, {"text": "ok"}, {"text": "x", "times": 99}]
        refusal = await error(client, TRIGGER_MANY, {"def": "echo", "inputs": inputs})
        assert refusal["extensions"]["code"] == "BAD_USER_INPUT"
        items = refusal["extensions"]["errors"]
        assert sorted({item["index"] for item in items}) == [1, 3]
        assert {tuple(item["loc"]) for item in items if item["index"] == 1} == {("text",)}
        assert {tuple(item["loc"]) for item in items if item["index"] == 3} == {("times",)}
        assert refusal["message"].startswith("2 inputs refused, nothing was triggered; input 1:")
        assert await taskloom.service.count_runs() == 0  # nothing half-written


async def test_trigger_tasks_checks_the_batch_options_once(database_url: str) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        refusal = await error(
            client, TRIGGER_MANY, {"def": "echo", "inputs": [{"text": "a"}], "priority": 10**7}
        )
        assert refusal["extensions"]["code"] == "BAD_USER_INPUT"
        assert [item["loc"] for item in refusal["extensions"]["errors"]] == [["priority"]]
        assert "index" not in refusal["extensions"]["errors"][0]
        empty = await data(client, TRIGGER_MANY, {"def": "echo", "inputs": []})
        assert empty["triggerTasks"] == []
        assert await taskloom.service.count_runs() == 0


async def _trigger(server: Server, client: httpx.AsyncClient, who: str, count: int) -> list[str]:
    response = await client.post(
        "/graphql",
        json={
            "query": TRIGGER_MANY,
            "variables": {"def": "sec-hold", "inputs": [{}] * count, "delay": HELD},
        },
        headers=headers_for(server.tokens[who]),
    )
    body = response.json()
    assert "errors" not in body, body
    return [run["id"] for run in body["data"]["triggerTasks"]]


async def _bulk(
    server: Server, client: httpx.AsyncClient, who: str, query: str, **variables: object
) -> dict[str, object]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=headers_for(server.tokens[who]),
    )
    body = response.json()
    assert "errors" not in body, body
    answer: dict[str, object] = next(iter(body["data"].values()))
    return answer


async def test_abort_and_retry_tasks_stay_within_the_callers_runs(database_url: str) -> None:
    async with (
        serve(database_url, worker=False) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        alices = await _trigger(server, client, "alice", 5)
        bobs = await _trigger(server, client, "bob", 3)

        # alice's filter matches every run of the definition; she sees only hers
        first = await _bulk(
            server, client, "alice", ABORT_MANY,
            where={"definitionId": "sec-hold"}, limit=3, message="cleanup",
        )  # fmt: skip
        assert first["count"] == 3 and first["hasMore"] is True
        runs = first["runs"]
        assert isinstance(runs, list)
        assert {run["id"] for run in runs} < set(alices)  # never bob's
        assert {run["status"] for run in runs} == {"ABORTED"}
        assert {run["error"]["message"] for run in runs} == {"cleanup"}

        rest = await _bulk(
            server, client, "alice", ABORT_MANY, where={"definitionId": "sec-hold"}, limit=10
        )
        assert rest["count"] == 2 and rest["hasMore"] is False

        bob_pending = RunFilter(statuses=("PENDING",), created_by="bob")
        assert await server.taskloom.service.count_runs(bob_pending) == 3

        retried = await _bulk(
            server, client, "alice", RETRY_MANY, where={"status": ["ABORTED"]}, limit=100
        )
        assert retried["count"] == 5 and retried["hasMore"] is False
        assert {run["status"] for run in retried["runs"]} == {"PENDING"}  # type: ignore[attr-defined]
        assert {run["attempt"] for run in retried["runs"]} == {1}  # type: ignore[attr-defined]

        # a developer sees every run: its abort reaches bob's too
        everyone = await _bulk(
            server, client, "developer", ABORT_MANY, where={"status": ["PENDING"]}, limit=100
        )
        assert everyone["count"] == 8
        assert {run["id"] for run in everyone["runs"]} == set(alices + bobs)  # type: ignore[attr-defined]


async def test_bulk_actions_skip_runs_they_cannot_change(database_url: str) -> None:
    async with (
        serve(database_url, worker=False) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        ids = await _trigger(server, client, "admin", 4)
        await server.taskloom.service.abort(ids[0])
        # a filter on finished runs only: nothing an abort could change
        none = await _bulk(
            server, client, "admin", ABORT_MANY, where={"status": ["ABORTED"]}, limit=5
        )
        assert none == {"count": 0, "hasMore": False, "runs": []}
        # a PENDING run cannot be retried; the ABORTED one can
        one = await _bulk(server, client, "admin", RETRY_MANY, where={}, limit=5)
        assert one["count"] == 1
        assert [run["id"] for run in one["runs"]] == [ids[0]]  # type: ignore[attr-defined]


@pytest.mark.parametrize("limit", [0, -1, 10_001])
async def test_bulk_limit_must_be_explicit_and_bounded(database_url: str, limit: int) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        await taskloom.service.trigger("echo", {"text": "a"}, delay=HELD)
        refusal = await error(client, ABORT_MANY, {"where": {}, "limit": limit})
        assert refusal["extensions"]["code"] == "BAD_USER_INPUT"
        assert refusal["extensions"]["errors"][0]["loc"] == ["limit"]
        missing = await error(client, "mutation { abortTasks(where: {}) { count } }")
        assert missing["extensions"]["code"] == "BAD_USER_INPUT"
        assert await taskloom.service.count_runs(RunFilter(statuses=("PENDING",))) == 1


async def test_abort_tasks_cascades_to_children_unless_told_not_to(database_url: str) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        service = taskloom.service
        kept_parent = await service.trigger("waiter", delay=HELD)
        kept_child = await service.trigger("echo", {"text": "c"}, parent_id=kept_parent.id)
        alone = await data(
            client,
            ABORT_CASCADE,
            {"where": {"definitionId": "waiter"}, "limit": 10, "cascade": False},
        )
        assert alone["abortTasks"]["count"] == 1
        assert (await service.get(kept_child.id)).status is TaskStatus.PENDING

        parent = await service.trigger("waiter", delay=HELD)
        child = await service.trigger("echo", {"text": "c"}, parent_id=parent.id)
        both = await data(client, ABORT_CASCADE, {"where": {"definitionId": "waiter"}, "limit": 10})
        assert both["abortTasks"]["count"] == 1  # the cascade's runs are not counted
        aborted_child = await service.get(child.id)
        assert aborted_child.status is TaskStatus.ABORTED
        assert (await service.get(kept_child.id)).status is TaskStatus.PENDING

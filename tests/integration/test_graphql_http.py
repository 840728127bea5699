"""Every query and mutation through the real ASGI app and an HTTP client,
with the answers a frontend relies on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from taskloom.definitions.records import TaskStatus
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, served

RUN_FIELDS = """
  id definitionId name status requested input state output
  error { message code data }
  iterations attempt priority
  progress { current total units percent display }
  statusMessage createdAt runAt startedAt finishedAt updatedAt
  waitingMs durationMs hasErrors canAbort parentId createdBy
  definition { id title }
"""

TRIGGER = (
    """mutation($def: ID!, $input: JSON, $name: String, $delay: Int, $at: DateTime,
             $priority: Int, $parent: ID) {
      triggerTask(definitionId: $def, input: $input, name: $name, delaySeconds: $delay,
                  runAt: $at, priority: $priority, parentId: $parent) {"""
    + RUN_FIELDS
    + "} }"
)


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Taskloom, httpx.AsyncClient]]:
    async with served(database_url) as pair:
        yield pair


async def trigger(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    run: dict[str, Any] = (await data(client, TRIGGER, variables))["triggerTask"]
    return run


async def test_definitions_are_listed_with_their_input_schema(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    _, client = api
    listed = await data(
        client,
        "{ taskDefinitions { id title description maxIterations iterationTimeout"
        " retry { attempts waitSeconds multiplier } } }",
    )
    ids = [d["id"] for d in listed["taskDefinitions"]]
    assert ids == ["broken", "echo", "waiter"]
    echo = listed["taskDefinitions"][1]
    assert echo["title"] == "Echo"
    assert echo["description"].startswith("Logs its text")
    assert echo["retry"] == {"attempts": 0, "waitSeconds": 0.0, "multiplier": 1.0}
    one = await data(client, '{ taskDefinition(id: "echo") { id inputSchema } }')
    schema = one["taskDefinition"]["inputSchema"]
    assert schema["required"] == ["text"]
    assert schema["properties"]["times"]["maximum"] == 10
    assert (await data(client, '{ taskDefinition(id: "nope") { id } }')) == {"taskDefinition": None}


async def test_a_triggered_run_reads_back_with_progress_logs_and_timings(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = api
    run = await trigger(
        client, **{"def": "echo", "input": {"text": "hi", "times": 2}, "name": "two", "priority": 3}
    )
    assert run["status"] == "PENDING"
    assert run["input"] == {"text": "hi", "times": 2}
    assert (run["name"], run["priority"], run["canAbort"]) == ("two", 3, True)
    assert run["definition"] == {"id": "echo", "title": "Echo"}
    await taskloom.service.wait(run["id"], timeout=20)

    query = (
        "query($id: ID!) { taskRun(id: $id) {"
        + RUN_FIELDS
        + """logs(first: 10) { totalCount pageInfo { hasNextPage endCursor }
             edges { cursor node { id runId level message data iteration createdAt } } }
        } }"""
    )
    found = (await data(client, query, {"id": run["id"]}))["taskRun"]
    assert found["status"] == "SUCCEEDED"
    assert found["output"] == {"text": "hi"}
    assert found["iterations"] == 2
    assert found["progress"] == {
        "current": 2.0,
        "total": 2.0,
        "units": "echoes",
        "percent": 100.0,
        "display": "2 of 2 echoes",
    }
    assert found["canAbort"] is False
    assert found["error"] is None and found["hasErrors"] is False
    assert found["durationMs"] >= 0 and found["waitingMs"] >= 0
    assert found["startedAt"] <= found["finishedAt"]
    logs = found["logs"]
    assert logs["totalCount"] == 2 and logs["pageInfo"]["hasNextPage"] is False
    nodes = [edge["node"] for edge in logs["edges"]]
    assert [(n["message"], n["level"], n["data"], n["iteration"]) for n in nodes] == [
        ("hi #1", "INFO", {"n": 1}, 0),
        ("hi #2", "INFO", {"n": 2}, 1),
    ]
    assert {n["runId"] for n in nodes} == {run["id"]}
    assert logs["pageInfo"]["endCursor"] == logs["edges"][-1]["cursor"]
    unknown = await data(client, '{ taskRun(id: "00000000-0000-0000-0000-000000000000") { id } }')
    assert unknown == {"taskRun": None}


async def test_trigger_options_delay_time_and_parent(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    _, client = api
    before = datetime.now(UTC)
    delayed = await trigger(client, **{"def": "waiter", "delay": 3600})
    assert datetime.fromisoformat(delayed["runAt"]) >= before + timedelta(seconds=3599)
    at = (before + timedelta(days=1)).replace(microsecond=0)
    timed = await trigger(client, **{"def": "waiter", "at": at.isoformat()})
    assert datetime.fromisoformat(timed["runAt"]) == at
    child = await trigger(
        client, **{"def": "waiter", "delay": 3600, "parent": delayed["id"], "name": "kid"}
    )
    assert child["parentId"] == delayed["id"]
    family = await data(
        client,
        """query($id: ID!) { taskRun(id: $id) {
             parent { id }
             children { totalCount edges { node { id name parent { id } } } } } }""",
        {"id": delayed["id"]},
    )
    assert family["taskRun"]["parent"] is None
    children = family["taskRun"]["children"]
    assert children["totalCount"] == 1
    assert children["edges"][0]["node"] == {
        "id": child["id"],
        "name": "kid",
        "parent": {"id": delayed["id"]},
    }


async def test_abort_ends_a_waiting_run_and_flags_a_running_one(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = api
    abort = 'mutation($id: ID!) { abortTask(id: $id, message: "enough") { status requested canAbort error { message code } } }'  # noqa: E501
    waiting = await trigger(client, **{"def": "waiter", "delay": 3600})
    aborted = (await data(client, abort, {"id": waiting["id"]}))["abortTask"]
    assert aborted["status"] == "ABORTED" and aborted["canAbort"] is False
    assert aborted["error"]["message"] == "enough"

    running = await trigger(client, **{"def": "waiter"})
    await taskloom.service.wait(running["id"], {TaskStatus.RUNNING, TaskStatus.PENDING}, timeout=10)
    answer = (await data(client, abort, {"id": running["id"]}))["abortTask"]
    assert answer["status"] in {"PENDING", "RUNNING", "ABORTED"}
    if answer["status"] != "ABORTED":
        assert answer["requested"] == "ABORT" and answer["canAbort"] is False
    ended = await taskloom.service.wait(running["id"], timeout=20)
    assert ended.status is TaskStatus.ABORTED


async def test_task_runs_filters_and_orders(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    taskloom, client = api
    quick = await trigger(client, **{"def": "echo", "input": {"text": "a"}, "name": "Alpha"})
    await taskloom.service.wait(quick["id"], timeout=20)
    low = await trigger(client, **{"def": "waiter", "delay": 3600, "name": "beta", "priority": -5})
    high = await trigger(client, **{"def": "waiter", "delay": 3600, "name": "gamma", "priority": 9})
    kid = await trigger(client, **{"def": "waiter", "delay": 3600, "parent": low["id"]})
    query = """query($where: TaskRunFilter, $order: TaskRunOrder!) {
      taskRuns(where: $where, orderBy: $order) { totalCount edges { node { id } } } }"""

    async def ids(where: dict[str, Any], order: str = "CREATED_AT_DESC") -> list[str]:
        found = (await data(client, query, {"where": where, "order": order}))["taskRuns"]
        assert found["totalCount"] == len(found["edges"])
        return [edge["node"]["id"] for edge in found["edges"]]

    everyone = [kid["id"], high["id"], low["id"], quick["id"]]
    assert await ids({}) == everyone
    assert await ids({}, "CREATED_AT_ASC") == everyone[::-1]
    assert (await ids({}, "PRIORITY_DESC"))[0] == high["id"]
    assert (await ids({}, "PRIORITY_DESC"))[-1] == low["id"]
    assert (await ids({}, "FINISHED_AT_DESC"))[0] == quick["id"]
    assert await ids({"definitionId": "echo"}) == [quick["id"]]
    assert await ids({"status": ["SUCCEEDED", "FAILED"]}) == [quick["id"]]
    assert await ids({"status": ["PENDING"]}) == everyone[:3]
    assert await ids({"nameContains": "ALP"}) == [quick["id"]]
    assert await ids({"parentId": low["id"]}) == [kid["id"]]
    assert await ids({"hasErrors": False}) == everyone
    assert await ids({"hasErrors": True}) == []
    created = quick["createdAt"]
    assert await ids({"createdBefore": created}) == []
    assert quick["id"] in await ids({"createdAfter": created})
    assert await ids({"finishedAfter": created}) == [quick["id"]]
    assert await ids({"finishedBefore": created}) == []


async def test_task_logs_filters(api: tuple[Taskloom, httpx.AsyncClient]) -> None:
    taskloom, client = api
    one = await trigger(client, **{"def": "echo", "input": {"text": "one", "times": 3}})
    two = await trigger(client, **{"def": "echo", "input": {"text": "two"}})
    for run in (one, two):
        await taskloom.service.wait(run["id"], timeout=20)
    query = """query($where: TaskLogFilter, $first: Int, $after: String) {
      taskLogs(where: $where, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { message createdAt } } } }"""

    async def logs(where: dict[str, Any], **more: Any) -> dict[str, Any]:
        found: dict[str, Any] = (await data(client, query, {"where": where, **more}))["taskLogs"]
        return found

    def messages(found: dict[str, Any]) -> list[str]:
        return [edge["node"]["message"] for edge in found["edges"]]

    assert messages(await logs({"runId": one["id"]})) == ["one #1", "one #2", "one #3"]
    assert messages(await logs({"messageContains": "TWO"})) == ["two #1"]
    assert messages(await logs({"levels": ["ERROR", "WARNING"]})) == []
    assert len(messages(await logs({"levels": ["INFO"]}))) == 4
    first = await logs({"runId": one["id"]}, first=2)
    assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"] is True
    rest = await logs({"runId": one["id"]}, first=2, after=first["pageInfo"]["endCursor"])
    assert messages(rest) == ["one #3"] and rest["pageInfo"]["hasNextPage"] is False
    times = [datetime.fromisoformat(edge["node"]["createdAt"]) for edge in first["edges"]]
    between = (times[0] + (times[1] - times[0]) / 2).isoformat()
    assert messages(await logs({"runId": one["id"], "from": between})) == ["one #2", "one #3"]
    assert messages(await logs({"runId": one["id"], "to": between})) == ["one #1"]


async def test_nested_logs_filter_by_minimum_level_and_page_on(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = api
    run = await trigger(client, **{"def": "echo", "input": {"text": "x", "times": 3}})
    await taskloom.service.wait(run["id"], timeout=20)
    query = """query($id: ID!, $after: String, $level: LogLevel) { taskRun(id: $id) {
      logs(first: 2, after: $after, level: $level) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { message } } } } }"""
    page = (await data(client, query, {"id": run["id"]}))["taskRun"]["logs"]
    assert [e["node"]["message"] for e in page["edges"]] == ["x #1", "x #2"]
    after = page["pageInfo"]["endCursor"]
    rest = (await data(client, query, {"id": run["id"], "after": after}))["taskRun"]["logs"]
    assert [e["node"]["message"] for e in rest["edges"]] == ["x #3"]
    warnings = (await data(client, query, {"id": run["id"], "level": "WARNING"}))["taskRun"]
    assert warnings["logs"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "endCursor": None},
        "edges": [],
    }
    infos = (await data(client, query, {"id": run["id"], "level": "DEBUG"}))["taskRun"]
    assert infos["logs"]["totalCount"] == 3


async def test_queries_work_over_get_and_graphiql_is_served(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    _, client = api
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'id="graphiql"' in page.text
    assert "mutation TriggerCountdown" in page.text and "query Overview" in page.text
    answer = await client.get("/graphql", params={"query": "{ taskDefinitions { id } }"})
    assert answer.status_code == 200
    assert len(answer.json()["data"]["taskDefinitions"]) == 3


async def test_cors_origins_come_from_settings(database_url: str) -> None:
    origin = "http://front.example"
    async with served(database_url, worker=False, cors_origins=origin) as (_, client):
        preflight = await client.options(
            "/graphql",
            headers={
                "origin": origin,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == origin
        other = await client.post(
            "/graphql",
            json={"query": "{ taskDefinitions { id } }"},
            headers={"origin": "http://evil.example"},
        )
        assert "access-control-allow-origin" not in other.headers

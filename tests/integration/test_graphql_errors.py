"""Every failure is a GraphQL error with `extensions.code`; nothing of the
server's insides (traceback, SQL, paths) reaches the client; a malformed
request gets a clean JSON 400."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import error, served

TRIGGER = "mutation($def: ID!, $input: JSON, $delay: Int, $at: DateTime, $priority: Int, $parent: ID) { triggerTask(definitionId: $def, input: $input, delaySeconds: $delay, runAt: $at, priority: $priority, parentId: $parent) { id } }"  # noqa: E501
ABORT = 'mutation($id: ID!) { abortTask(id: $id, message: "stop") { status } }'
MISSING = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Error mapping does not depend on the backend: SQLite only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'errors.db'}"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with served(database_url, worker=False) as (_, client):
        yield client


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[tuple[Taskloom, httpx.AsyncClient]]:
    async with served(database_url, worker=False) as pair:
        yield pair


async def test_invalid_input_is_bad_user_input_with_errors_per_field(
    client: httpx.AsyncClient,
) -> None:
    found = await error(client, TRIGGER, {"def": "echo", "input": {"times": 99}})
    assert found["extensions"]["code"] == "BAD_USER_INPUT"
    assert found["path"] == ["triggerTask"]
    fields = {tuple(e["loc"]): e["message"] for e in found["extensions"]["errors"]}
    assert set(fields) == {("text",), ("times",)}
    assert "less than or equal to 10" in fields[("times",)]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"delay": -1}, "delay"),
        ({"delay": 5, "at": "2030-01-01T00:00:00+00:00"}, "runAt"),
        ({"priority": 10**7}, "priority"),
    ],
)
async def test_bad_trigger_options_name_their_field(
    client: httpx.AsyncClient, variables: dict[str, object], field: str
) -> None:
    found = await error(client, TRIGGER, {"def": "waiter", **variables})
    assert found["extensions"]["code"] == "BAD_USER_INPUT"
    assert found["extensions"]["errors"][0]["loc"] == [field]


@pytest.mark.parametrize(
    "query",
    [
        "{ taskRuns(first: -1) { totalCount } }",
        '{ taskRuns(after: "not a cursor") { totalCount } }',
        '{ taskLogs(after: "bm9wZQ") { totalCount } }',
    ],
)
async def test_bad_paging_arguments_are_bad_user_input(
    client: httpx.AsyncClient, query: str
) -> None:
    found = await error(client, query)
    assert found["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_things_are_not_found(client: httpx.AsyncClient) -> None:
    assert (await error(client, TRIGGER, {"def": "nope"}))["extensions"]["code"] == "NOT_FOUND"
    orphan = await error(client, TRIGGER, {"def": "waiter", "parent": MISSING})
    assert orphan["extensions"]["code"] == "NOT_FOUND"
    missing = await error(client, ABORT, {"id": MISSING})
    assert missing["extensions"] == {"code": "NOT_FOUND"}
    assert MISSING in missing["message"]


async def test_aborting_a_finished_run_is_a_conflict(
    api: tuple[Taskloom, httpx.AsyncClient],
) -> None:
    taskloom, client = api
    run = await taskloom.service.trigger("waiter", delay=3600)
    await taskloom.service.abort(run.id)
    found = await error(client, ABORT, {"id": run.id})
    assert found["extensions"]["code"] == "CONFLICT"
    assert found["path"] == ["abortTask"]


async def test_an_unexpected_failure_is_internal_with_an_id_that_is_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="taskloom.graphql"):
        response = await client.post(
            "/graphql", json={"query": '{ taskDefinition(id: "broken") { id inputSchema } }'}
        )
    assert response.status_code == 200
    text = response.text
    for secret in ("secret", "/srv/", "SELECT", "Traceback", "RuntimeError", ".py"):
        assert secret not in text
    found = response.json()["errors"][0]
    assert found["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = found["extensions"]["errorId"]
    assert error_id in found["message"]
    assert response.json()["data"] == {"taskDefinition": None}
    logged = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    assert "secret detail" in str(logged[0].exc_info[1])


@pytest.mark.parametrize(
    "query",
    [
        "{ taskRuns { ",  # syntax
        "{ taskRuns { edges { node { nope } } } }",  # unknown field
        '{ taskRuns(orderBy: "SIDEWAYS") { totalCount } }',  # wrong literal
        'mutation { triggerTask(definitionId: "echo", runAt: "yesterday") { id } }',
    ],
)
async def test_malformed_operations_are_bad_user_input(
    client: httpx.AsyncClient, query: str
) -> None:
    found = await error(client, query)
    assert found["extensions"]["code"] == "BAD_USER_INPUT"


async def test_wrong_variable_types_are_bad_user_input(client: httpx.AsyncClient) -> None:
    found = await error(client, TRIGGER, {"def": "echo", "delay": "soon"})
    assert found["extensions"]["code"] == "BAD_USER_INPUT"
    assert "delay" in found["message"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"query": "{ taskRuns { totalCount } }"', "application/json"),  # cut short
        (b"\xff\xfe not json", "application/json"),
        (b'"just a string"', "application/json"),
        (b"42", "application/json"),
        (b"query { taskRuns { totalCount } }", "text/plain"),
        (b"query=x", "application/x-www-form-urlencoded"),
    ],
)
async def test_malformed_bodies_and_wrong_content_types_get_a_clean_400(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    response = await client.post(
        "/graphql", content=content, headers={"content-type": content_type}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "Traceback" not in response.text


async def test_mutations_are_refused_over_get(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", params={"query": 'mutation { abortTask(id: "x") { id } }'}
    )
    assert response.status_code in {400, 405}
    assert response.json()["errors"][0]["extensions"]["code"] in {
        "BAD_REQUEST",
        "METHOD_NOT_ALLOWED",
    }

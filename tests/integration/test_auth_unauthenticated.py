"""Every entry point refuses a caller without valid credentials, over real
HTTP and a real WebSocket; what `taskloom serve` does about authentication
before it starts; tokens never reach a log or a response."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from taskloom.schema import build_schema
from taskloom.server.auth.cli import prepare_serve
from tests.integration.security_support import Server, post, serve, ws_errors, ws_operation
from tests.integration.test_auth_matrix import (
    QUERIES_AND_MUTATIONS,
    STREAMS,
    SUBSCRIPTIONS,
    Op,
)
from tests.support.graphql_schema import graphql_schema_of

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

ALL_OPS = QUERIES_AND_MUTATIONS + SUBSCRIPTIONS + STREAMS
BAD_HEADERS: dict[str, dict[str, str]] = {
    "none": {},
    "unknown-token": {"Authorization": "Bearer tlk_not-a-real-token"},
    "not-a-taskloom-token": {"Authorization": "Bearer abc"},
    "basic-scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "bearer-without-token": {"Authorization": "Bearer"},
}
BAD_INIT: dict[str, dict[str, Any] | None] = {
    "no-payload": None,
    "empty-payload": {},
    "unknown-token": {"Authorization": "Bearer tlk_not-a-real-token"},
    "token-key": {"token": "tlk_nope"},
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    path: Path = tmp_path_factory.mktemp("unauth") / "taskloom.db"
    async with serve(f"sqlite+aiosqlite:///{path}") as running:
        yield running


def root_fields() -> set[str]:
    graphql = graphql_schema_of(build_schema)
    found: set[str] = set()
    for root in (graphql.query_type, graphql.mutation_type, graphql.subscription_type):
        assert root is not None
        found.update(root.fields)
    return found


def test_the_tables_cover_every_query_mutation_and_subscription() -> None:
    assert {op.field for op in ALL_OPS} == root_fields()


async def variables_for(server: Server, op: Op) -> dict[str, Any]:
    run = await server.taskloom.service.trigger("sec-hold", delay=3600, created_by="alice")
    return {"id": run.id, "parent": run.id, "owner": "alice"}


@MODULE_LOOP
@pytest.mark.parametrize("credentials", list(BAD_HEADERS))
@pytest.mark.parametrize("op", QUERIES_AND_MUTATIONS, ids=lambda op: op.name)
async def test_http_without_valid_credentials_is_unauthenticated(
    server: Server, op: Op, credentials: str
) -> None:
    variables = await variables_for(server, op)
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            json={"query": op.query, "variables": variables},
            headers=BAD_HEADERS[credentials],
        )
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    # nothing happened: the run is untouched and no run was created
    run = await server.taskloom.service.get(variables["id"])
    assert run.status.value == "PENDING" and run.priority == 0


@MODULE_LOOP
@pytest.mark.parametrize("init", list(BAD_INIT))
@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
async def test_websocket_without_valid_credentials_is_unauthenticated(
    server: Server, op: Op, init: str
) -> None:
    variables = await variables_for(server, op)
    messages = await ws_operation(server, op.query, variables, init_payload=BAD_INIT[init])
    assert [e["extensions"]["code"] for e in ws_errors(messages)] == ["UNAUTHENTICATED"], messages


@MODULE_LOOP
async def test_introspection_alone_needs_no_token_so_graphiql_shows_the_docs(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        docs = await post(client, "{ __schema { queryType { name } } __typename }")
        mixed = await post(client, "{ __typename taskDefinitions { id } }")
        page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert docs.json() == {
        "data": {"__schema": {"queryType": {"name": "Query"}}, "__typename": "Query"}
    }
    assert mixed.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert page.status_code == 200 and "graphiql" in page.text.lower()


@MODULE_LOOP
async def test_tokens_never_reach_the_log_or_a_response(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = server.tokens["alice"]
    async with httpx.AsyncClient(base_url=server.url) as client:
        answers = [
            await post(client, "{ taskDefinitions { id } }", token=secret),
            await post(client, "{ taskRun(id: 1) { id } nope }", token=secret),
            await post(client, "{ taskDefinitions { id } }", token=secret + "x"),
            await post(client, 'mutation { deleteTaskRun(id: "x") { id } }', token=secret),
        ]
    messages = await ws_operation(
        server, "{ nope }", init_payload={"Authorization": f"Bearer {secret}"}
    )
    assert secret not in caplog.text
    assert secret[8:] not in caplog.text
    for answer in answers:
        assert secret[8:] not in answer.text
    assert secret[8:] not in repr(messages)


async def test_auth_disabled_serves_loopback_clients_as_a_local_admin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'open.db'}"
    trigger = 'mutation { triggerTask(definitionId: "sec-hold", delaySeconds: 60) { createdBy } }'
    async with (
        serve(url, auth="disabled") as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        response = await post(client, trigger)
    assert response.json() == {"data": {"triggerTask": {"createdBy": "local"}}}


async def test_auth_disabled_refuses_clients_that_are_not_on_loopback(tmp_path: Path) -> None:
    from taskloom.server.app import create_app
    from taskloom.server.taskloom import Taskloom

    taskloom = Taskloom(
        f"sqlite+aiosqlite:///{tmp_path / 'remote.db'}",
        worker=False,
        auth="disabled",
        load_entry_points=False,
    )
    app = create_app(taskloom)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 4242))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/graphql", json={"query": "{ taskDefinitions { id } }"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


LOOPBACK_HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "LOCALHOST",
    "127.0.0.1:{port}",
    "localhost:{port}",
    "[::1]:{port}",
]
OTHER_HOSTS = [
    "attacker.example",
    "attacker.example:{port}",
    "localhost.attacker.example",
    "127.0.0.1.nip.io:{port}",
    "",
]


async def websocket_upgrade_status(server: Server, host: str) -> int:
    """The status of a graphql-transport-ws upgrade that sends exactly one
    Host header, `host` (WebSocket clients add their own)."""
    port = int(server.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /graphql HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


@pytest.mark.parametrize("host", OTHER_HOSTS)
async def test_auth_disabled_refuses_a_host_header_that_is_not_loopback(
    tmp_path: Path, host: str
) -> None:
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, so the
    client is on loopback, but the Host header still names the attacker."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'rebind.db'}"
    mint = 'mutation { createApiToken(name: "stolen", role: ADMIN) { secret } }'
    async with (
        serve(url, auth="disabled") as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        named = host.format(port=running.url.rsplit(":", 1)[1])
        answer = await client.post("/graphql", json={"query": mint}, headers={"Host": named})
        dashboard = await client.get("/", headers={"Host": named})
        upgrade = await websocket_upgrade_status(running, named)
        assert "stolen" not in {t.name for t in await running.taskloom.tokens.list()}
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert dashboard.status_code == 403
    assert upgrade == 403


@pytest.mark.parametrize("host", LOOPBACK_HOSTS)
async def test_auth_disabled_serves_loopback_host_headers(tmp_path: Path, host: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'local.db'}"
    async with (
        serve(url, auth="disabled") as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        named = host.format(port=running.url.rsplit(":", 1)[1])
        response = await client.post(
            "/graphql", json={"query": "{ viewer { owner } }"}, headers={"Host": named}
        )
        upgrade = await websocket_upgrade_status(running, named)
    assert response.json() == {"data": {"viewer": {"owner": "local"}}}
    assert upgrade == 101


def test_serve_refuses_auth_disabled_on_a_public_address(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        TASKLOOM_AUTH="disabled",
        TASKLOOM_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        TASKLOOM_LOAD_ENTRY_POINTS="false",
    )
    done = subprocess.run(
        [sys.executable, "-m", "taskloom.server.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "only allowed on a loopback address" in done.stderr


def test_first_serve_creates_and_prints_one_admin_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TASKLOOM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'first.db'}")
    monkeypatch.setenv("TASKLOOM_LOAD_ENTRY_POINTS", "false")
    monkeypatch.delenv("TASKLOOM_AUTH", raising=False)
    prepare_serve("127.0.0.1", 8123)
    printed = capsys.readouterr().out
    token = next(line.strip() for line in printed.splitlines() if line.strip().startswith("tlk_"))
    assert f'{{"Authorization": "Bearer {token}"}}' in printed
    assert "http://127.0.0.1:8123/graphql" in printed
    prepare_serve("127.0.0.1", 8123)  # a token exists now: nothing new is printed
    assert "tlk_" not in capsys.readouterr().out

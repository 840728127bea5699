"""The parse/validate memo keeps only valid documents of callers with a
token: an unauthenticated caller or an invalid document is parsed (and
validated) again every time, so nobody makes the server hold what they
send. Over real HTTP and WebSocket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from tests.integration.security_support import Server, post, serve, ws_operation

VALID = "{ taskDefinitions { id } }"
INVALID = "{ " + " ".join(f"unknown{i}" for i in range(50)) + " }"


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    async with serve(f"sqlite+aiosqlite:///{tmp_path / 'memo.db'}", worker=False) as running:
        yield running


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents strawberry parses, in order."""
    seen: list[str] = []
    original = graphql.parse

    def spy(source: Any, **options: Any) -> graphql.DocumentNode:
        seen.append(str(source))
        return original(source, **options)

    monkeypatch.setattr("strawberry.schema.schema.parse", spy)
    return seen


async def send_three_times(server: Server, query: str, token: str | None) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        return [(await post(client, query, token=token)).json() for _ in range(3)]


async def test_a_valid_document_of_a_caller_with_a_token_is_parsed_once(
    server: Server, parsed: list[str]
) -> None:
    answers = await send_three_times(server, VALID, server.tokens["alice"])
    assert all("errors" not in answer for answer in answers)
    assert parsed.count(VALID) == 1


async def test_without_a_token_every_document_is_parsed_every_time(
    server: Server, parsed: list[str]
) -> None:
    for query in (VALID, INVALID, "{ __typename }"):
        await send_three_times(server, query, None)
        await send_three_times(server, query, "tlk_not-a-real-token")
        assert parsed.count(query) == 6, query


async def test_an_invalid_document_is_parsed_and_refused_every_time(
    server: Server, parsed: list[str]
) -> None:
    answers = await send_three_times(server, INVALID, server.tokens["admin"])
    assert all(len(answer["errors"]) == 50 for answer in answers)
    assert parsed.count(INVALID) == 3


async def test_over_websocket_too(server: Server, parsed: list[str]) -> None:
    admin = {"Authorization": f"Bearer {server.tokens['admin']}"}
    for _ in range(2):
        await ws_operation(server, VALID, init_payload=admin)
        await ws_operation(server, INVALID, init_payload=admin)
        await ws_operation(server, '{ __type(name: "TaskRun") { name } }', init_payload={})
    assert parsed.count(VALID) == 1
    assert parsed.count(INVALID) == 2
    assert parsed.count('{ __type(name: "TaskRun") { name } }') == 2

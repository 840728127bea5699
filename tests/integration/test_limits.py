"""Each limit answers with its own clear GraphQL error (or HTTP status),
never a crash or a hang: deep, wide (aliases, also through fragment
spreads), many tokens, huge documents, huge bodies and inputs, malformed
requests, capped page sizes, introspection turned off."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.security_support import Server, headers_for, post, serve, ws_operation

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
MiB = 1024 * 1024


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    path: Path = tmp_path_factory.mktemp("limits") / "taskloom.db"
    async with serve(f"sqlite+aiosqlite:///{path}", worker=False) as running:
        yield running


async def ask(
    server: Server, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await post(client, query, variables, server.tokens["admin"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def only_error(body: dict[str, Any]) -> tuple[str, str]:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    return error["extensions"]["code"], error["message"]


def deep_query(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"children(first: 1) {{ edges {{ node {{ {inner} }} }} }}"
    return f'{{ taskRun(id: "x") {{ {inner} }} }}'


@MODULE_LOOP
async def test_a_deep_query_is_refused_and_a_normal_one_is_not(server: Server) -> None:
    code, message = only_error(await ask(server, deep_query(6)))  # depth 19 > 15
    assert code == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth of 15" in message
    assert "errors" not in await ask(server, deep_query(4))  # depth 13


@MODULE_LOOP
async def test_a_deep_query_through_fragments_is_refused(server: Server) -> None:
    fragments = "".join(
        f"fragment F{i} on TaskRun {{ children {{ edges {{ node {{ ...F{i + 1} }} }} }} }}\n"
        for i in range(8)
    )
    query = 'query { taskRun(id: "x") { ...F0 } }\n' + fragments + "fragment F8 on TaskRun { id }"
    code, message = only_error(await ask(server, query))
    assert code == "BAD_USER_INPUT" and "maximum operation depth" in message


@MODULE_LOOP
async def test_too_many_aliases_are_refused(server: Server) -> None:
    wide = " ".join(f"a{i}: taskDefinitions {{ id }}" for i in range(51))
    code, message = only_error(await ask(server, f"{{ {wide} }}"))
    assert code == "BAD_USER_INPUT"
    assert "aliases found. Allowed: 50" in message
    fine = " ".join(f"a{i}: __typename" for i in range(50))
    assert "errors" not in await ask(server, f"{{ {fine} }}")


@MODULE_LOOP
async def test_aliases_amplified_through_fragment_spreads_are_counted(server: Server) -> None:
    """10 aliases in a fragment spread 6 times are 60 aliases, though the
    document spells only 10 (the CVE-2026-47707 case)."""
    fragment = "fragment Many on Query { " + " ".join(f"x{i}: __typename" for i in range(10)) + " }"
    spread = "{ " + " ".join("...Many" for _ in range(6)) + " }"
    code, message = only_error(await ask(server, f"{spread}\n{fragment}"))
    assert code == "BAD_USER_INPUT" and "aliases found. Allowed: 50" in message
    nested = (
        "fragment A on Query { " + " ".join(f"y{i}: __typename" for i in range(5)) + " }\n"
        "fragment B on Query { ...A ...A ...A }\n"
        "fragment C on Query { ...B ...B ...B ...B }\n"
        "{ ...C }"
    )  # 5 * 3 * 4 = 60 aliases
    code, message = only_error(await ask(server, nested))
    assert code == "BAD_USER_INPUT" and "aliases found" in message


@MODULE_LOOP
async def test_a_document_with_too_many_tokens_is_refused_before_parsing(server: Server) -> None:
    wide = " ".join("id" for _ in range(6_000))
    code, message = only_error(await ask(server, f"{{ taskDefinitions {{ {wide} }} }}"))
    assert code == "BAD_USER_INPUT"
    assert "more than 5000 tokens" in message


@MODULE_LOOP
async def test_a_huge_document_is_refused_by_its_size(server: Server) -> None:
    padding = "#" + "x" * 150_000 + "\n"  # a comment: few tokens, many bytes
    code, message = only_error(await ask(server, padding + "{ taskDefinitions { id } }"))
    assert code == "BAD_USER_INPUT"
    assert "larger than 100000 bytes" in message


@MODULE_LOOP
async def test_a_body_over_the_cap_is_413_with_or_without_content_length(server: Server) -> None:
    big = json.dumps({"query": "{ __typename }", "variables": {"x": "y" * (5 * MiB)}}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        sized = await client.post(
            "/graphql",
            content=big,
            headers={"content-type": "application/json", **headers_for(server.tokens["admin"])},
        )
        streamed = await client.post(
            "/graphql",
            content=chunks(),
            headers={"content-type": "application/json", **headers_for(server.tokens["admin"])},
        )
    for response in (sized, streamed):
        assert response.status_code == 413
        assert response.json()["errors"][0]["message"] == "request body larger than 4194304 bytes"


@MODULE_LOOP
async def test_input_json_over_one_mib_is_bad_user_input_and_creates_no_run(
    server: Server,
) -> None:
    mutation = (
        'mutation($input: JSON) { triggerTask(definitionId: "sec-hold", input: $input) { id } }'
    )
    before = await server.taskloom.service.count_runs()
    code, message = only_error(await ask(server, mutation, {"input": {"blob": "z" * (MiB + 10)}}))
    assert code == "BAD_USER_INPUT"
    assert "input: must be at most 1048576 bytes of JSON" in message
    assert await server.taskloom.service.count_runs() == before
    assert "errors" not in await ask(server, mutation, {"input": {"blob": "z" * 1000}})


@MODULE_LOOP
async def test_first_is_capped_at_500(server: Server) -> None:
    service = server.taskloom.service
    await service.trigger_many("sec-hold", [{"n": i} for i in range(510)], delay=3600)
    body = await ask(
        server, "{ taskRuns(first: 100000) { edges { cursor } pageInfo { hasNextPage } } }"
    )
    page = body["data"]["taskRuns"]
    assert len(page["edges"]) == 500 and page["pageInfo"]["hasNextPage"] is True


@MODULE_LOOP
@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'"just a string"', "application/json", 400),
        (b'{"query": 42}', "application/json", 400),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 400),
        (b"{ __typename }", "text/plain", 400),
    ],
)
async def test_malformed_requests_get_a_clean_4xx(
    server: Server, content: bytes, content_type: str, status: int
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            content=content,
            headers={"content-type": content_type, **headers_for(server.tokens["admin"])},
        )
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text


@MODULE_LOOP
@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ taskRuns(", None),
        ("{ nope }", None),
        ('{ taskRun(id: "x") { id } } { other }', None),
        ("query($id: ID!) { taskRun(id: $id) { id } }", {"id": {"nested": True}}),
        ("query($id: ID!) { taskRun(id: $id) { id } }", None),
        ('{ taskRuns(first: "many") { totalCount } }', None),
        ("subscription { nope }", None),
        ("fragment A on Query { ...A } { ...A }", None),
        ("\u0000", None),
    ],
)
async def test_malformed_documents_get_bad_user_input(
    server: Server, query: str, variables: dict[str, Any] | None
) -> None:
    body = await ask(server, query, variables)
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"BAD_USER_INPUT"}, body


@MODULE_LOOP
async def test_limits_hold_over_websocket_too(server: Server) -> None:
    messages = await ws_operation(
        server,
        deep_query(6),
        init_payload={"Authorization": f"Bearer {server.tokens['admin']}"},
    )
    assert messages[-1]["type"] == "error", messages
    assert "maximum operation depth" in messages[-1]["payload"][0]["message"]
    huge = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "#" + "x" * (5 * MiB)}})
    async with connect(server.ws_url, subprotocols=["graphql-transport-ws"], max_size=None) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(huge)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_configured_limits_and_introspection_off(tmp_path: Path) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'strict.db'}",
        worker=False,
        max_query_depth=3,
        max_aliases=2,
        max_tokens=40,
        max_document_bytes=500,
        max_input_bytes=100,
        max_body_bytes=2048,
        introspection=False,
    ) as strict:
        admin = strict.tokens["admin"]
        async with httpx.AsyncClient(base_url=strict.url) as client:

            async def message(query: str, variables: dict[str, Any] | None = None) -> str:
                response = await post(client, query, variables, admin)
                assert response.status_code == 200, response.text
                return str(response.json()["errors"][0]["message"])

            assert "depth of 3" in await message(deep_query(1))
            assert "Allowed: 2" in await message("{ a: __typename b: __typename c: __typename }")
            assert "more than 40 tokens" in await message("{ " + "a " * 50 + "}")
            assert "larger than 500 bytes" in await message("#" + "x" * 600 + "\n{ __typename }")
            assert "at most 100 bytes" in await message(
                'mutation($i: JSON) { triggerTask(definitionId: "sec-hold", input: $i) { id } }',
                {"i": {"text": "t" * 200}},
            )
            assert "introspection" in (await message("{ __schema { types { name } } }")).lower()
            too_big = await post(client, "{ __typename }", {"pad": "p" * 3000}, admin)
            assert too_big.status_code == 413


# Each of these gets a "Did you mean ..." from graphql-core: a misspelt root
# field (the attacker's probe for `createApiToken`), argument, enum literal,
# enum value in a variable, input field and output field.
GUESSES: list[tuple[str, dict[str, Any]]] = [
    ('mutation { createApiTokn(name: "x", role: ADMIN) { secret } }', {}),
    ("{ taskRuns(frist: 1) { totalCount } }", {}),
    ("{ taskRuns(orderBy: CREATED_AT_DSC) { totalCount } }", {}),
    (
        "query($s: [TaskStatus!]) { taskRuns(where: {status: $s}) { totalCount } }",
        {"s": ["PENDIN"]},
    ),
    ("{ taskRuns(where: {statuss: [PENDING]}) { totalCount } }", {}),
    ('{ taskRun(id: "x") { statu } }', {}),
]


@pytest.mark.parametrize("introspection", [True, False])
async def test_suggestions_are_hidden_when_introspection_is_off(
    tmp_path: Path, introspection: bool
) -> None:
    async with serve(
        f"sqlite+aiosqlite:///{tmp_path / 'guess.db'}", worker=False, introspection=introspection
    ) as running:
        answers: list[str] = []
        async with httpx.AsyncClient(base_url=running.url) as client:
            for query, variables in GUESSES:
                # Without a token, a variable is refused (UNAUTHENTICATED)
                # before it is coerced.
                for token in (
                    (None, running.tokens["admin"]) if not variables else (running.tokens["admin"],)
                ):
                    response = await post(client, query, variables, token)
                    answers.append(json.dumps(response.json()["errors"]))
        for query, variables in GUESSES:
            messages = await ws_operation(
                running,
                query,
                variables,
                init_payload={"Authorization": f"Bearer {running.tokens['admin']}"},
            )
            answers.append(json.dumps(messages))
    wrong = [answer for answer in answers if ("Did you mean" in answer) != introspection]
    assert wrong == []
    if not introspection:
        assert all("BAD_USER_INPUT" in answer for answer in answers), answers

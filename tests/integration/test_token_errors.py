"""A missing token and a wrong or revoked one get different words, over
HTTP and in a WebSocket's connection_init; both are UNAUTHENTICATED. An
unknown input field is refused through GraphQL as a field error."""

from __future__ import annotations

import httpx

from taskloom.schema.operation_guard import AUTHENTICATION_REQUIRED, TOKEN_REJECTED
from tests.integration.graphql_support import error, served
from tests.integration.security_support import post, serve, ws_errors, ws_operation

QUERY = "{ taskDefinitions { id } }"


async def test_a_wrong_or_revoked_token_is_told_apart_from_none(database_url: str) -> None:
    async with serve(database_url) as server:
        revoked = await server.taskloom.tokens.create("gone", "user")
        await server.taskloom.tokens.revoke(revoked.info.id)
        async with httpx.AsyncClient(base_url=server.url) as client:
            answers = {
                "none": await post(client, QUERY),
                "wrong": await post(client, QUERY, token="tlk_not_a_real_token"),
                "revoked": await post(client, QUERY, token=revoked.secret),
                "good": await post(client, QUERY, token=server.tokens["alice"]),
            }
        errors = {name: answer.json().get("errors") for name, answer in answers.items()}
        assert errors["good"] is None
        assert [e["message"] for e in errors["none"]] == [AUTHENTICATION_REQUIRED]
        for name in ("wrong", "revoked"):
            assert [e["message"] for e in errors[name]] == [TOKEN_REJECTED], name
            assert errors[name][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "not recognised or revoked" in TOKEN_REJECTED
        assert "Authentication required" in AUTHENTICATION_REQUIRED

        rejected = await ws_operation(
            server, QUERY, init_payload={"Authorization": "Bearer tlk_not_a_real_token"}
        )
        assert [e["message"] for e in ws_errors(rejected)] == [TOKEN_REJECTED]
        missing = await ws_operation(server, QUERY, init_payload={})
        assert [e["message"] for e in ws_errors(missing)] == [AUTHENTICATION_REQUIRED]


async def test_an_unknown_input_field_is_refused_as_a_field_error(database_url: str) -> None:
    async with served(database_url, worker=False) as (taskloom, client):
        refused = await error(
            client,
            'mutation { triggerTask(definitionId: "echo", input: {text: "hi", bogus: 1}) { id } }',
        )
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert refused["extensions"]["errors"] == [
            {
                "loc": ["bogus"],
                "message": "unknown field; the input accepts: text, times",
                "type": "extra_forbidden",
            }
        ]
        assert await taskloom.service.count_runs() == 0

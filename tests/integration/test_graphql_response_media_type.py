"""`application/graphql-response+json`: answered with that content type; a
request error (parse, validation, variable coercion) is 400 with no `data`
entry; a field error stays 200 with data. `application/json` clients keep
the legacy answers."""

from __future__ import annotations

from typing import Any

from tests.integration.graphql_support import served

MEDIA = "application/graphql-response+json"


async def test_the_graphql_response_media_type(database_url: str) -> None:
    async with served(database_url, worker=False) as (_, client):

        async def ask(accept: str, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
            answer = await client.post("/graphql", json=body, headers={"accept": accept})
            return answer.status_code, answer.headers["content-type"], answer.json()

        ok = await ask(MEDIA, {"query": "{ __typename }"})
        assert ok == (200, f"{MEDIA}; charset=utf-8", {"data": {"__typename": "Query"}})
        for bad in (
            {"query": "{ __typename"},  # does not parse
            {"query": "{ noSuchField }"},  # does not validate
            {"query": "query($n: Int!) { taskRuns(first: $n) { totalCount } }", "variables": {}},
        ):
            status, kind, body = await ask(MEDIA, bad)
            assert (status, kind) == (400, f"{MEDIA}; charset=utf-8"), bad
            assert "data" not in body and body["errors"], bad
            legacy = await ask("application/json", bad)
            assert legacy[0] == 200 and legacy[1] == "application/json"
            assert legacy[2]["data"] is None
        preferred = await ask(f"application/json;q=0.5, {MEDIA}", {"query": "{ __typename }"})
        assert preferred[1].startswith(MEDIA)
        missing = await ask(MEDIA, {"query": 'query { taskRun(id: "nope") { id } }'})
        assert missing[0] == 200 and "data" in missing[2]  # executed: not a request error

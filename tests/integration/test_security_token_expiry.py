"""Issue 21, item 16, on SQLite and PostgreSQL: a token may expire
(`taskloom token create --expires-in 30d`, `createApiToken(expiresAt:)`),
`apiTokens` shows `expiresAt`, and an expired token is refused as a revoked
one is, over HTTP and in the CLI's listing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from typer.testing import CliRunner

from taskloom.server.cli import app
from tests.integration.security_support import post, serve
from tests.support.waiting import eventually

CREATE = """mutation($expiresAt: DateTime) {
  createApiToken(name: "short", role: DEVELOPER, expiresAt: $expiresAt) {
    secret token { id expiresAt }
  }
}"""
TOKENS = "{ apiTokens(includeRevoked: true) { id expiresAt revokedAt } }"
VIEWER = "{ viewer { owner } }"


async def test_an_expired_token_is_refused_like_a_revoked_one(database_url: str) -> None:
    async with serve(database_url, worker=False) as server:
        admin = server.tokens["admin"]
        soon = datetime.now(UTC) + timedelta(seconds=2)
        async with httpx.AsyncClient(base_url=server.url) as client:
            created = (await post(client, CREATE, {"expiresAt": soon.isoformat()}, admin)).json()
            secret = created["data"]["createApiToken"]["secret"]
            token_id = created["data"]["createApiToken"]["token"]["id"]
            listed = (await post(client, TOKENS, token=admin)).json()["data"]["apiTokens"]
            first = (await post(client, VIEWER, token=secret)).json()
            revoked = await server.taskloom.tokens.create("revoked", "developer")
            await server.taskloom.tokens.revoke(revoked.info.id)
            refused_revoked = (await post(client, VIEWER, token=revoked.secret)).json()
            past = (await post(client, CREATE, {"expiresAt": "2020-01-01T00:00:00Z"}, admin)).json()

            async def expired() -> bool:
                answer = (await post(client, VIEWER, token=secret)).json()
                return bool(answer == refused_revoked)

            await eventually(expired, timeout=20)
            still_listed = await server.taskloom.tokens.list()
    (shown,) = [t for t in listed if t["id"] == token_id]
    assert abs(datetime.fromisoformat(shown["expiresAt"]) - soon) < timedelta(seconds=1)
    assert first == {"data": {"viewer": {"owner": "short"}}}
    assert refused_revoked["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert past["errors"][0]["extensions"]["errors"][0]["loc"] == ["expiresAt"]
    # The usable tokens no longer include it; `--all` / includeRevoked still does.
    assert token_id not in [t.id for t in still_listed]


async def invoke(database_url: str, *args: str) -> Any:
    """`taskloom ARGS` on the database, in a thread (the CLI runs its own loop)."""
    env = {"TASKLOOM_DATABASE_URL": database_url}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_token_create_expires_in(database_url: str, make_app: Any) -> None:
    await make_app(worker=False)  # the database, migrated
    created = await invoke(database_url, "token", "create", "--name", "ci", "--expires-in", "30d")
    listed = await invoke(database_url, "token", "list", "--json")
    bad = await invoke(database_url, "token", "create", "--name", "x", "--expires-in", "soon")
    assert created.exit_code == 0, created.output
    assert "active, expires" in created.output
    (token,) = json.loads(listed.stdout)
    left = datetime.fromisoformat(token["expiresAt"]) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < left <= timedelta(days=30)
    assert bad.exit_code == 1
    assert "expires-in" in bad.stderr and "Traceback" not in bad.output

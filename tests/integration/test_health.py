"""`/healthz` tells a stranger only that the server is up and which
versions run; the definitions and the worker (whose id names host and pid)
need a valid token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from taskloom.server.health import taskloom_version
from tests.integration.security_support import headers_for, serve


@pytest.mark.parametrize("token", [None, "tlk_not-a-real-token"])
async def test_healthz_without_a_valid_token_is_status_and_versions_only(
    tmp_path: Path, token: str | None
) -> None:
    async with (
        serve(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}") as running,
        httpx.AsyncClient(base_url=running.url) as client,
    ):
        response = await client.get("/healthz", headers=headers_for(token))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "python"}, body
    assert body["status"] == "ok" and body["version"] == taskloom_version()
    assert "sec-hold" not in response.text


@pytest.mark.parametrize("role", ["alice", "developer", "admin"])
async def test_healthz_with_a_token_adds_definitions_and_the_worker(
    tmp_path: Path, role: str
) -> None:
    async with serve(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}") as running:
        async with httpx.AsyncClient(base_url=running.url) as client:
            response = await client.get("/healthz", headers=headers_for(running.tokens[role]))
        worker = running.taskloom.worker
        assert worker is not None
        body = response.json()
        assert body["status"] == "ok"
        assert {"sec-hold", "sec-developers", "sec-yearly"} <= set(body["definitions"])
        assert body["worker"]["id"] == worker.worker_id


async def test_healthz_with_a_revoked_token_hides_the_detail(tmp_path: Path) -> None:
    async with serve(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}") as running:
        (info,) = [t for t in await running.taskloom.tokens.list() if t.name == "bob"]
        await running.taskloom.tokens.revoke(info.id)
        async with httpx.AsyncClient(base_url=running.url) as client:
            response = await client.get("/healthz", headers=headers_for(running.tokens["bob"]))
    assert "definitions" not in response.json() and "worker" not in response.json()

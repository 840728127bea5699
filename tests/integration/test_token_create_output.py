"""`taskloom token create` prints the token alone on stdout (so
`TOKEN=$(taskloom token create ...)` captures just it) and the explanation
on stderr; `--json` prints the token with its details."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from typer.testing import CliRunner

from taskloom.server.cli import app


async def invoke(database_url: str, *args: str) -> Any:
    env = {"TASKLOOM_DATABASE_URL": database_url}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def test_the_token_alone_goes_to_stdout(database_url: str, make_app: Any) -> None:
    await make_app(worker=False)
    plain = await invoke(database_url, "token", "create", "--name", "ci", "--role", "user")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.startswith("tlk_") and len(plain.stdout.splitlines()) == 1
    assert "shown only this once" in plain.stderr and plain.stdout.strip() not in plain.stderr
    as_json = await invoke(database_url, "token", "create", "--name", "bot", "--json")
    record = json.loads(as_json.stdout)
    assert record["name"] == "bot" and record["role"] == "user"
    assert record["token"].startswith(record["prefix"]) and record["revokedAt"] is None

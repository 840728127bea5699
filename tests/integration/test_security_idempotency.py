"""Issue 21, items 1, 2 and 6, over real HTTP on SQLite and PostgreSQL:
idempotency keys are scoped by who triggers, the scheduler's `schedule:`
keys are refused to callers, and the retention definition is admin-only.

The attacks, before: Bob triggering with Alice's key was handed her run
(input, output, logs); Bob taking a key first had Alice's later trigger
return his run; `schedule:<tick>` read the scheduler's run and could take a
future tick; a `user` could trigger `taskloom.retention`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from alembic import command
from alembic.script import ScriptDirectory

from taskloom.server.maintenance import RETENTION_ID
from taskloom.server.store.migrate import alembic_config
from taskloom.server.store.new_runs import InsertIdempotent, new_run_row
from tests.integration.security_support import Server, post, serve

TRIGGER = """mutation($definition: ID!, $key: String, $input: JSON) {
  triggerTask(definitionId: $definition, idempotencyKey: $key, input: $input,
              delaySeconds: 3600) {
    id createdBy input idempotencyKey
  }
}"""
NIGHTLY = "nightly-2026-12-06"


async def trigger(
    client: httpx.AsyncClient,
    server: Server,
    who: str,
    key: str | None,
    definition: str = "sec-hold",
    input: dict[str, Any] | None = None,
) -> dict[str, Any]:
    variables = {"definition": definition, "key": key, "input": input or {}}
    body: dict[str, Any] = (await post(client, TRIGGER, variables, server.tokens[who])).json()
    return body


def run_of(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    run: dict[str, Any] = body["data"]["triggerTask"]
    return run


def refusal(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def test_another_owners_key_reads_nothing_of_the_owners_run(database_url: str) -> None:
    async with (
        serve(database_url, worker=False) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        alice = run_of(await trigger(client, server, "alice", NIGHTLY, input={"pin": 1234}))
        bob = run_of(await trigger(client, server, "bob", NIGHTLY))
        again = run_of(await trigger(client, server, "alice", NIGHTLY, input={"pin": 1}))
        bob_again = run_of(await trigger(client, server, "bob", NIGHTLY))
    assert bob["id"] != alice["id"]
    assert (bob["createdBy"], bob["input"]) == ("bob", {})
    # Each owner's key still finds that owner's own run.
    assert again == alice
    assert bob_again == bob


async def test_a_key_taken_first_by_another_owner_does_not_capture_a_later_trigger(
    database_url: str,
) -> None:
    async with (
        serve(database_url, worker=False) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        squat = run_of(await trigger(client, server, "bob", "alice-tomorrow"))
        alice = run_of(await trigger(client, server, "alice", "alice-tomorrow"))
        # Bob's run stays out of Alice's reach, hers out of his.
        seen = await post(
            client,
            "query($id: ID!) { taskRun(id: $id) { id } }",
            {"id": squat["id"]},
            server.tokens["alice"],
        )
    assert alice["id"] != squat["id"]
    assert alice["createdBy"] == "alice"
    assert seen.json() == {"data": {"taskRun": None}}


async def test_the_schedulers_keys_are_refused_to_every_caller(database_url: str) -> None:
    async with serve(database_url, worker=False, maintenance=True) as server:
        tick = datetime(2027, 1, 1, tzinfo=UTC).isoformat()
        # The scheduler's own run of a tick, as it writes it.
        now = server.taskloom.database.clock()
        fired = new_run_row(
            definition_id="sec-yearly",
            input={},
            now=now,
            run_at=now,
            idempotency_key="schedule:" + tick,
        )
        await server.taskloom.database.run_write(InsertIdempotent(fired))
        async with httpx.AsyncClient(base_url=server.url) as client:
            answers = [
                await trigger(client, server, who, "schedule:" + tick, definition)
                for who in ("bob", "admin")
                for definition in ("sec-yearly", "sec-hold")
            ]
            retention = await trigger(client, server, "admin", "schedule:" + tick, RETENTION_ID)
        # The scheduler itself still finds its tick's run.
        again = {**fired, "id": "another"}
        created, found = await server.taskloom.database.run_write(InsertIdempotent(again))
    assert (created, found["id"]) == (False, fired["id"])
    for body in [*answers, retention]:
        extensions = refusal(body)
        assert extensions["code"] == "BAD_USER_INPUT"
        assert extensions["errors"][0]["loc"] == ["idempotencyKey"]
        assert fired["id"] not in str(body)


async def test_only_admins_trigger_or_retry_the_retention_definition(database_url: str) -> None:
    async with (
        serve(database_url, worker=False, maintenance=True) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        codes = {}
        for who in ("alice", "developer"):
            codes[who] = refusal(await trigger(client, server, who, None, RETENTION_ID))["code"]
        admin = run_of(await trigger(client, server, "admin", None, RETENTION_ID))
        await server.taskloom.service.abort(admin["id"])
        retried = await post(
            client,
            "mutation($id: ID!) { retryTask(id: $id) { id } }",
            {"id": admin["id"]},
            server.tokens["developer"],
        )
    assert codes == {"alice": "FORBIDDEN", "developer": "FORBIDDEN"}
    assert retried.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_keys_written_before_the_scope_keep_finding_their_runs(database_url: str) -> None:
    """Migration 0008 gives the runs keyed before it their owner's scope."""
    async with serve(database_url, worker=False) as server:
        service, database = server.taskloom.service, server.taskloom.database
        alice = await service.trigger("sec-hold", delay=60, created_by="alice", idempotency_key="a")
        system = await service.trigger("sec-hold", delay=60, idempotency_key="s")
        scripts = ScriptDirectory.from_config(alembic_config())
        before = str(scripts.get_revision("0008_idempotency_scope").down_revision)
        await database.write_fn(lambda c: command.downgrade(alembic_config(c), before))
        await database.write_fn(lambda c: command.upgrade(alembic_config(c), "heads"))
        found = [
            (await service.trigger("sec-hold", created_by=owner, idempotency_key=key)).id
            for owner, key in (("alice", "a"), (None, "s"))
        ]
        bob = await service.trigger("sec-hold", created_by="bob", idempotency_key="a")
    assert found == [alice.id, system.id]
    assert bob.id not in found

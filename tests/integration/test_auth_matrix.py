"""The role x operation matrix over a real server: every query and mutation
over real HTTP and over a real WebSocket, every subscription over the
WebSocket, for admin, developer and user, on the user's own run and on
another user's run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.integration.security_support import (
    Server,
    post,
    serve,
    ws_data,
    ws_errors,
    ws_operation,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TRIGGER_HOLD = (
    'mutation { triggerTask(definitionId: "sec-hold", delaySeconds: 3600) { id createdBy } }'
)
ROLES = ("admin", "developer", "alice")  # alice is a `user`
OWNERS = ("alice", "bob")  # whose run the operation is about


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    path: Path = tmp_path_factory.mktemp("matrix") / "taskloom.db"
    async with serve(f"sqlite+aiosqlite:///{path}") as running:
        yield running


async def subject(server: Server, owner: str, state: str = "PENDING") -> str:
    """A run of `owner`, made by the system, in `state`, with one log line."""
    service = server.taskloom.service
    run = await service.trigger("sec-hold", delay=3600, created_by=owner)
    await service.log(run.id, "INFO", f"log of {owner}")
    if state == "PAUSED":
        await service.pause(run.id)
    elif state == "ABORTED":
        await service.abort(run.id)
    return run.id


Setup = Callable[[Server, str], Awaitable[dict[str, Any]]]


def run_in(state: str) -> Setup:
    async def setup(server: Server, owner: str) -> dict[str, Any]:
        return {"id": await subject(server, owner, state)}

    return setup


async def no_run(server: Server, owner: str) -> dict[str, Any]:
    return {}


async def parent(server: Server, owner: str) -> dict[str, Any]:
    return {"parent": await subject(server, owner)}


@dataclass(frozen=True)
class Op:
    name: str
    field: str
    query: str
    setup: Setup
    scoped: bool = True  # about one run: another user's is NOT_FOUND to a user
    admin_only: bool = False
    roles: tuple[str, ...] | None = None  # who may (else FORBIDDEN)
    absent: str = "NOT_FOUND"  # what a user gets for another user's run


QUERIES_AND_MUTATIONS = [
    Op("taskDefinitions", "taskDefinitions", "{ taskDefinitions { id } }", no_run, scoped=False),
    Op(
        "taskDefinition",
        "taskDefinition",
        '{ taskDefinition(id: "sec-hold") { id } }',
        no_run,
        scoped=False,
    ),
    Op(
        "taskRun",
        "taskRun",
        "query($id: ID!) { taskRun(id: $id) { id createdBy } }",
        run_in("PENDING"),
        absent="null",
    ),
    Op(
        "taskRuns",
        "taskRuns",
        "{ taskRuns(first: 500) { totalCount edges { node { id createdBy } } } }",
        run_in("PENDING"),
        absent="hidden",
    ),
    Op(
        "taskLogs(run)",
        "taskLogs",
        "query($id: ID!) { taskLogs(where: {runId: $id}) { edges { node { message } } } }",
        run_in("PENDING"),
    ),
    Op(
        "taskLogs(all)",
        "taskLogs",
        "{ taskLogs(first: 500) { edges { node { runId message } } } }",
        run_in("PENDING"),
        absent="hidden",
    ),
    Op(
        "taskSchedules", "taskSchedules", "{ taskSchedules { definitionId } }", no_run, scoped=False
    ),
    Op(
        "triggerTask",
        "triggerTask",
        'mutation { triggerTask(definitionId: "sec-hold", delaySeconds: 3600) { id createdBy } }',
        no_run,
        scoped=False,
    ),
    Op(
        "triggerTask(roles)",
        "triggerTask",
        'mutation { triggerTask(definitionId: "sec-developers", delaySeconds: 3600) { id } }',
        no_run,
        scoped=False,
        roles=("admin", "developer"),
    ),
    Op(
        "triggerTask(parentId)",
        "triggerTask",
        'mutation($parent: ID!) { triggerTask(definitionId: "sec-hold", delaySeconds: 3600,'
        " parentId: $parent) { id parentId } }",
        parent,
    ),
    Op(
        "abortTask",
        "abortTask",
        "mutation($id: ID!) { abortTask(id: $id) { id status } }",
        run_in("PENDING"),
    ),
    Op(
        "pauseTask",
        "pauseTask",
        "mutation($id: ID!) { pauseTask(id: $id) { id status } }",
        run_in("PENDING"),
    ),
    Op(
        "resumeTask",
        "resumeTask",
        "mutation($id: ID!) { resumeTask(id: $id) { id status } }",
        run_in("PAUSED"),
    ),
    Op(
        "retryTask",
        "retryTask",
        "mutation($id: ID!) { retryTask(id: $id) { id status } }",
        run_in("ABORTED"),
    ),
    Op(
        "setTaskPriority",
        "setTaskPriority",
        "mutation($id: ID!) { setTaskPriority(id: $id, priority: 7) { id priority } }",
        run_in("PENDING"),
    ),
    Op(
        "deleteTaskRun",
        "deleteTaskRun",
        "mutation($id: ID!) { deleteTaskRun(id: $id) { id } }",
        run_in("ABORTED"),
        admin_only=True,
    ),
    Op(
        "setScheduleEnabled",
        "setScheduleEnabled",
        'mutation { setScheduleEnabled(definitionId: "sec-yearly", enabled: true) { enabled } }',
        no_run,
        scoped=False,
        admin_only=True,
    ),
]


async def throwaway_token(server: Server, owner: str) -> dict[str, Any]:
    return {"id": (await server.taskloom.tokens.create(f"spare-{owner}", "user")).info.id}


QUERIES_AND_MUTATIONS += [
    Op("viewer", "viewer", "{ viewer { owner role tokenName } }", no_run, scoped=False),
    Op(
        "apiTokens",
        "apiTokens",
        "{ apiTokens(includeRevoked: true) { id name role owner prefix } }",
        no_run,
        scoped=False,
        admin_only=True,
    ),
    Op(
        "createApiToken",
        "createApiToken",
        'mutation { createApiToken(name: "made", role: USER, owner: "zoe")'
        " { secret token { id owner role } } }",
        no_run,
        scoped=False,
        admin_only=True,
    ),
    Op(
        "revokeApiToken",
        "revokeApiToken",
        "mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }",
        throwaway_token,
        scoped=False,
        admin_only=True,
    ),
]


async def api_schedule(server: Server, owner: str) -> dict[str, Any]:
    made = await server.taskloom.service.create_schedule("sec-hold", "0 3 * * *")
    return {"id": made.id}


QUERIES_AND_MUTATIONS += [
    Op(
        "createSchedule",
        "createSchedule",
        'mutation { createSchedule(definitionId: "sec-hold", expression: "0 4 * * *")'
        " { id declared } }",
        no_run,
        scoped=False,
        roles=("admin", "developer"),
    ),
    Op(
        "deleteSchedule",
        "deleteSchedule",
        "mutation($id: ID!) { deleteSchedule(id: $id) { id } }",
        api_schedule,
        scoped=False,
        roles=("admin", "developer"),
    ),
    Op(
        "pauseDefinition",
        "pauseDefinition",
        'mutation { pauseDefinition(id: "sec-hold") { id paused } }',
        no_run,
        scoped=False,
        roles=("admin", "developer"),
    ),
    Op(
        "resumeDefinition",
        "resumeDefinition",
        'mutation { resumeDefinition(id: "sec-hold") { id paused } }',
        no_run,
        scoped=False,
        roles=("admin", "developer"),
    ),
]


def owned_in(state: str) -> Setup:
    """A run of `owner` in `state`; the variables name its owner, for the
    bulk mutations' filter."""

    async def setup(server: Server, owner: str) -> dict[str, Any]:
        await subject(server, owner, state)
        return {"owner": owner}

    return setup


QUERIES_AND_MUTATIONS += [
    Op(
        "triggerTasks",
        "triggerTasks",
        'mutation { triggerTasks(definitionId: "sec-hold", inputs: [{}, {}], delaySeconds: 3600)'
        " { id createdBy } }",
        no_run,
        scoped=False,
    ),
    Op(
        "triggerTasks(roles)",
        "triggerTasks",
        'mutation { triggerTasks(definitionId: "sec-developers", inputs: [{}]) { id } }',
        no_run,
        scoped=False,
        roles=("admin", "developer"),
    ),
    Op(
        "abortTasks",
        "abortTasks",
        'mutation($owner: String!) { abortTasks(where: {definitionId: "sec-hold",'
        " createdBy: $owner}, limit: 1) { count runs { createdBy status } } }",
        owned_in("PENDING"),
        absent="hidden",
    ),
    Op(
        "retryTasks",
        "retryTasks",
        'mutation($owner: String!) { retryTasks(where: {definitionId: "sec-hold",'
        " createdBy: $owner}, limit: 1) { count runs { createdBy status } } }",
        owned_in("ABORTED"),
        absent="hidden",
    ),
]
SUBSCRIPTIONS = [
    Op(
        "taskRunUpdated",
        "taskRunUpdated",
        "subscription($id: ID!) { taskRunUpdated(id: $id) { id status } }",
        run_in("ABORTED"),
    ),
    Op(
        "taskLogAdded",
        "taskLogAdded",
        "subscription($id: ID!) { taskLogAdded(runId: $id) { message } }",
        run_in("ABORTED"),
    ),
]


async def webhook(server: Server, owner: str) -> dict[str, Any]:
    created = await server.taskloom.service.create_webhook("http://127.0.0.1:9/hook", ["failed"])
    return {"id": created.webhook.id}


QUERIES_AND_MUTATIONS += [
    Op("webhooks", "webhooks", "{ webhooks { id url } }", no_run, scoped=False, admin_only=True),
    Op(
        "webhookDeliveries",
        "webhookDeliveries",
        "{ webhookDeliveries { id state } }",
        no_run,
        scoped=False,
        admin_only=True,
    ),
    Op(
        "createWebhook",
        "createWebhook",
        'mutation { createWebhook(url: "http://127.0.0.1:9/hook", events: [FAILED])'
        " { webhook { id events } secret } }",
        no_run,
        scoped=False,
        admin_only=True,
    ),
    Op(
        "deleteWebhook",
        "deleteWebhook",
        "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
        webhook,
        scoped=False,
        admin_only=True,
    ),
]

# Endless streams: what each role receives is tested in test_run_events.py.
STREAMS = [
    Op(
        "taskRunEvents",
        "taskRunEvents",
        "subscription { taskRunEvents { id } }",
        no_run,
        scoped=False,
    ),
]


def expected(op: Op, role: str, owner: str) -> str:
    """ "ok", "null", "hidden" (the other user's run is left out), or a code."""
    if op.admin_only and role != "admin":
        return "FORBIDDEN"
    if op.roles is not None and role not in op.roles:
        return "FORBIDDEN"
    if op.scoped and role == "alice" and owner != "alice":
        return op.absent
    return "ok"


def cases(ops: list[Op], transports: tuple[str, ...]) -> list[Any]:
    return [
        pytest.param(op, role, owner, transport, id=f"{op.name}-{role}-on-{owner}-{transport}")
        for op in ops
        for role in ROLES
        for owner in (OWNERS if op.scoped else ("alice",))
        for transport in transports
    ]


async def execute(
    server: Server, op: Op, role: str, variables: dict[str, Any], transport: str
) -> tuple[Any, list[dict[str, Any]]]:
    """(data of the field, errors) of one operation."""
    token = server.tokens[role]
    if transport == "http":
        async with httpx.AsyncClient(base_url=server.url) as client:
            response = await post(client, op.query, variables, token)
        assert response.status_code == 200, response.text
        body = response.json()
        data = body.get("data") or {}
        return data.get(op.field), body.get("errors") or []
    messages = await ws_operation(
        server, op.query, variables, init_payload={"Authorization": f"Bearer {token}"}
    )
    results = ws_data(messages)
    return (results[0].get(op.field) if results else None), ws_errors(messages)


async def check(
    server: Server,
    op: Op,
    role: str,
    owner: str,
    data: Any,
    errors: list[dict[str, Any]],
    ids: dict[str, Any],
) -> None:
    outcome = expected(op, role, owner)
    if outcome in ("ok", "null", "hidden"):
        assert errors == [], errors
    else:
        assert [e["extensions"]["code"] for e in errors] == [outcome], errors
        assert data is None
        return
    if outcome == "null":
        assert data is None
        return
    assert data is not None
    me = "alice" if role == "alice" else role
    if op.name == "taskRuns":
        seen = {edge["node"]["id"]: edge["node"]["createdBy"] for edge in data["edges"]}
        assert (ids["id"] in seen) == (outcome == "ok")
        if role == "alice":
            assert set(seen.values()) == {"alice"}
            assert data["totalCount"] == len(seen)
    if op.name == "taskLogs(all)":
        messages = {edge["node"]["message"] for edge in data["edges"]}
        assert ("log of bob" in messages) == (role != "alice")
        assert "log of alice" in messages
    if op.name == "triggerTask":
        assert data["createdBy"] == me
    if op.name == "triggerTasks":
        assert [run["createdBy"] for run in data] == [me, me]
    if op.name in ("abortTasks", "retryTasks"):
        # the other user's runs are out of a user's reach: none changed
        assert data["count"] == (1 if outcome == "ok" else 0)
        assert {run["createdBy"] for run in data["runs"]} <= {owner}
    if op.name == "viewer":
        assert data == {
            "owner": me,
            "role": "USER" if role == "alice" else role.upper(),
            "tokenName": me,
        }
    if op.name == "apiTokens":
        assert {"admin", "developer", "alice", "bob"} <= {t["name"] for t in data}
        assert all(t["prefix"].startswith("tlk_") and len(t["prefix"]) < 20 for t in data)
    if op.name == "createApiToken":
        assert data["token"]["owner"] == "zoe" and data["token"]["role"] == "USER"
        assert await server.taskloom.tokens.authenticate(data["secret"]) is not None
    if op.name == "createSchedule":
        assert data["declared"] is False
    if op.name == "deleteSchedule":
        assert data == {"id": ids["id"]}
    if op.name in ("pauseDefinition", "resumeDefinition"):
        assert data == {"id": "sec-hold", "paused": op.name == "pauseDefinition"}
    if op.name == "createWebhook":
        assert data["webhook"]["events"] == ["FAILED"] and data["secret"].startswith("whsec_")
    if op.name == "deleteWebhook":
        assert data == {"id": ids["id"]}
    if op.name == "revokeApiToken":
        assert data["id"] == ids["id"] and data["revokedAt"] is not None


@pytest.mark.parametrize(
    ("op", "role", "owner", "transport"), cases(QUERIES_AND_MUTATIONS, ("http", "ws"))
)
async def test_queries_and_mutations(
    server: Server, op: Op, role: str, owner: str, transport: str
) -> None:
    ids = await op.setup(server, owner)
    data, errors = await execute(server, op, role, ids, transport)
    await check(server, op, role, owner, data, errors, ids)


@pytest.mark.parametrize(("op", "role", "owner", "transport"), cases(SUBSCRIPTIONS, ("ws",)))
async def test_subscriptions(server: Server, op: Op, role: str, owner: str, transport: str) -> None:
    ids = await op.setup(server, owner)
    messages = await ws_operation(
        server,
        op.query,
        ids,
        init_payload={"Authorization": f"Bearer {server.tokens[role]}"},
    )
    errors = ws_errors(messages)
    outcome = expected(op, role, owner)
    if outcome == "ok":
        assert errors == [], messages
        assert messages[-1]["type"] == "complete"
        if op.name == "taskRunUpdated":
            assert ws_data(messages)[0]["taskRunUpdated"]["id"] == ids["id"]
    else:
        assert [e["extensions"]["code"] for e in errors] == [outcome], messages
        assert ws_data(messages) == []


async def test_a_user_reads_only_its_own_runs_and_they_record_who_triggered_them(
    server: Server,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        mine = await post(
            client,
            TRIGGER_HOLD,
            token=server.tokens["bob"],
        )
        run = mine.json()["data"]["triggerTask"]
        assert run["createdBy"] == "bob"
        theirs = await post(
            client,
            "query($id: ID!) { taskRun(id: $id) { id } }",
            {"id": run["id"]},
            server.tokens["alice"],
        )
        assert theirs.json() == {"data": {"taskRun": None}}
        developer = await post(
            client,
            "query($id: ID!) { taskRun(id: $id) { createdBy } }",
            {"id": run["id"]},
            server.tokens["developer"],
        )
        assert developer.json() == {"data": {"taskRun": {"createdBy": "bob"}}}


async def test_a_revoked_token_is_refused_at_once(server: Server) -> None:
    created = await server.taskloom.tokens.create("temporary", "developer")
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = await post(client, "{ taskDefinitions { id } }", token=created.secret)
        assert "errors" not in before.json()
        await server.taskloom.tokens.revoke(created.info.id)
        after = await post(client, "{ taskDefinitions { id } }", token=created.secret)
    assert after.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_user_does_not_see_children_others_triggered_under_its_run(server: Server) -> None:
    service = server.taskloom.service
    parent_id = await subject(server, "alice")
    await service.trigger("sec-hold", delay=3600, parent_id=parent_id, created_by="developer")
    await service.trigger("sec-hold", delay=3600, parent_id=parent_id, created_by="alice")
    query = "query($id: ID!) { taskRun(id: $id) { children { edges { node { createdBy } } } } }"
    seen = {}
    async with httpx.AsyncClient(base_url=server.url) as client:
        for role in ("alice", "developer"):
            body = (await post(client, query, {"id": parent_id}, server.tokens[role])).json()
            edges = body["data"]["taskRun"]["children"]["edges"]
            seen[role] = sorted(edge["node"]["createdBy"] for edge in edges)
    assert seen == {"alice": ["alice"], "developer": ["alice", "developer"]}

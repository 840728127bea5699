"""PostgreSQL when several processes share the database: claims skip rows
another transaction holds, leases use the database's clock, and LISTEN/NOTIFY
wakes workers and carries events between the processes' hubs.

Two `Taskloom`s in this test process stand for two processes: each has its
own database connections, writer, event hub and LISTEN connection."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Connection, text

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.server.events.hub import Event
from taskloom.server.events.pg_bridge import MAX_PAYLOAD, encode, encode_event
from taskloom.server.store.claims import Claim
from taskloom.server.store.connect import open_database
from taskloom.server.store.new_runs import InsertRuns, new_run_row
from taskloom.server.store.postgres.channels import asyncpg_dsn
from taskloom.server.store.postgres.database import PostgresDatabase

# Only the PostgreSQL side of the `database_url` fixture.
on_postgres = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
pytestmark = pytest.mark.postgres

WAIT = 10.0


class Chatty(TaskDefinition[Any]):
    id = "chatty"

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("working", data={"iteration": controller.run.iteration})
        if controller.run.iteration < 1:
            return controller.response.continue_()
        return controller.response.done(output={"ok": True})


class UntilAborted(TaskDefinition[Any]):
    id = "until-aborted"

    async def run(self, controller: TaskController[Any]) -> Any:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if controller.runtime.is_aborted():
                return controller.response.aborted("saw the abort")
            await asyncio.sleep(0.01)
        return controller.response.error("no abort arrived")


async def _api_and_worker(make_app: Any, *definitions: Any, **worker: Any) -> tuple[Any, Any]:
    api = await make_app(*definitions, worker=False)
    runner = await make_app(*definitions, **worker)
    assert api.hub.relay is not None and runner.hub.relay is not None
    return api, runner


async def _collect_until(subscription: Any, done: Any, timeout: float = WAIT) -> list[Event]:
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while not events or not done(events[-1]):
        event = await subscription.get(max(0.0, deadline - time.monotonic()))
        if event is None:
            raise AssertionError(f"no final event within {timeout} s; got {events}")
        events.append(event)
    return events


@on_postgres
async def test_a_worker_wakes_on_notify_not_on_its_poll(make_app: Any) -> None:
    # A 60 s poll: only a notification can start the run within the wait.
    api, _runner = await _api_and_worker(make_app, Chatty, poll_interval=60)
    started = time.monotonic()
    run = await api.service.trigger("chatty")
    finished = await api.service.wait(run.id, timeout=WAIT)
    assert finished.status is TaskStatus.SUCCEEDED
    assert time.monotonic() - started < WAIT


@on_postgres
async def test_a_subscription_on_the_api_sees_the_worker_progress_once(make_app: Any) -> None:
    api, runner = await _api_and_worker(make_app, Chatty)
    on_api = api.hub.subscribe("run", "*")
    on_worker = runner.hub.subscribe("run", "*")
    logs_on_api = api.hub.subscribe("log", "*")
    run = await api.service.trigger("chatty")

    def final(event: Event) -> bool:
        return event.run_id == run.id and event.status == "SUCCEEDED"

    seen_by_api = await _collect_until(on_api, final)
    statuses = sorted(str(e.status) for e in seen_by_api if e.run_id == run.id)
    # Each event arrives once on each hub: the trigger's PENDING (published
    # on the API) is not echoed back to it, the worker's are not doubled.
    expected = ["PENDING", "PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert statuses == expected
    # Between processes there is no total order (the worker may claim the
    # run before the trigger's notification reaches it): the worker's hub
    # gets the same events, in some order, each once.
    on_worker_statuses: list[str] = []
    while sorted(on_worker_statuses) != expected:
        event = await on_worker.get(WAIT)
        assert event is not None, f"the worker's hub saw only {on_worker_statuses}"
        if event.run_id == run.id:
            on_worker_statuses.append(str(event.status))
    assert await on_worker.get(0.2) is None
    assert await on_api.get(0.2) is None
    logs: list[Event] = []
    while len(logs) < 2:
        event = await logs_on_api.get(WAIT)
        assert event is not None, "log events of the worker did not reach the API"
        logs.append(event)
    assert [e.data["message"] for e in logs] == ["working", "working"]
    assert await logs_on_api.get(0.2) is None


@on_postgres
async def test_an_abort_on_the_api_reaches_the_worker(make_app: Any) -> None:
    api, _runner = await _api_and_worker(make_app, UntilAborted)
    run = await api.service.trigger("until-aborted")
    await api.service.wait(run.id, statuses=[TaskStatus.RUNNING], timeout=WAIT)
    await api.service.abort(run.id, "stop")
    finished = await api.service.wait(run.id, timeout=WAIT)
    assert finished.status is TaskStatus.ABORTED


@on_postgres
async def test_many_and_large_events_fit_in_notifications(make_app: Any) -> None:
    sender = await make_app(worker=False)
    receiver = await make_app(worker=False)
    subscription = receiver.hub.subscribe("log", "*")
    for i in range(300):
        sender.hub.publish(Event("log", f"run-{i}", data={"message": "m" * 100, "n": i}))
    sender.hub.publish(Event("log", "big", data={"message": "x" * 50_000}))
    got: list[Event] = []
    while len(got) < 301:
        event = await subscription.get(WAIT)
        assert event is not None, f"only {len(got)} of 301 events arrived"
        got.append(event)
    assert [e.data["n"] for e in got[:300]] == list(range(300))
    assert got[300].run_id == "big" and got[300].data == {"truncated": True}


def test_payloads_stay_under_the_notify_limit() -> None:
    items = [encode_event(Event("log", f"r{i}", None, {"message": "y" * 500})) for i in range(100)]
    payloads = encode("origin", 0, True, items)
    assert len(payloads) > 1
    assert all(len(p.encode()) < MAX_PAYLOAD for p in payloads)
    assert encode("origin", 0, True, []) != []  # a bare wake-up still goes out


@on_postgres
async def test_claims_skip_runs_another_transaction_holds(database_url: str) -> None:
    database = open_database(database_url)
    await database.start()
    holder: asyncpg.Connection | None = None
    try:
        from taskloom.server.store.migrate import migrate

        await migrate(database)
        now = database.clock()
        rows = [
            new_run_row(definition_id="d", input={}, now=now, run_at=now - 1) for _ in range(100)
        ]
        await database.run_write(InsertRuns(rows))
        holder = await asyncpg.connect(asyncpg_dsn(database_url))
        transaction = holder.transaction()
        await transaction.start()
        held = {
            r["id"]
            for r in await holder.fetch(
                "SELECT id FROM task_runs ORDER BY id LIMIT 30 FOR UPDATE SKIP LOCKED"
            )
        }
        claimed = await asyncio.wait_for(
            database.run_write(Claim("w1", 100, now, now + 30, ["d"])), WAIT
        )
        ids = {row["id"] for row in claimed}
        assert len(ids) == 70 and not ids & held
        await transaction.rollback()
        rest = await database.run_write(Claim("w2", 100, now, now + 30, ["d"]))
        assert {row["id"] for row in rest} == held
    finally:
        if holder is not None:
            await holder.close()
        await database.close()


@on_postgres
async def test_the_clock_is_the_database_clock_even_on_a_skewed_machine(
    database_url: str,
) -> None:
    database = open_database(database_url)
    assert isinstance(database, PostgresDatabase)
    database.wall_clock = lambda: time.time() - 3600.0  # an hour behind
    await database.start()
    try:

        def server_now(conn: Connection) -> float:
            return float(
                conn.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one()
            )

        before = await database.read(server_now)
        ours = database.clock()
        after = await database.read(server_now)
        assert before - 0.5 <= ours <= after + 0.5
    finally:
        await database.close()


@on_postgres
async def test_the_listener_reconnects_after_its_connection_drops(make_app: Any) -> None:
    api, _runner = await _api_and_worker(make_app, Chatty, poll_interval=60)

    def kill_listeners(conn: Connection) -> int:
        return len(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()"
                )
            ).all()
        )

    assert await api.database.read(kill_listeners) == 2

    async def listening() -> int:
        def count(conn: Connection) -> int:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'")
                ).scalar_one()
            )

        return int(await api.database.read(count))

    deadline = time.monotonic() + WAIT
    while await listening() < 2:
        assert time.monotonic() < deadline, "the listeners did not come back"
        await asyncio.sleep(0.05)
    run = await api.service.trigger("chatty")
    assert (await api.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED

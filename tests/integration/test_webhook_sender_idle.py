"""A webhook sender with nothing to send only reads, on SQLite and
PostgreSQL: its polls used to lease with an UPDATE each time (on SQLite,
the file's write lock twice a second in every process, webhook or none).
The sender runs on a database connector of its own, as in another
process, whose count of the writes asked of it (`writes_asked`) holds it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.registry import Registry
from taskloom.definitions.webhooks import DeliveryState
from taskloom.server.store import webhooks as store
from taskloom.server.store.connect import open_database
from taskloom.server.taskloom import Taskloom
from taskloom.server.webhooks.sender import SenderOptions, WebhookSender
from tests.integration.test_store_indexes import plans_of
from tests.support.receiver import receiving
from tests.support.waiting import eventually

POLLS = 5


class Parked(TaskDefinition[Any]):
    id = "idle-parked"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.done()


@pytest.fixture
async def sender(database_url: str) -> AsyncIterator[WebhookSender]:
    """A sender, not started, on a connector of its own to the test's
    database (which the test's app migrated first)."""
    database = open_database(database_url)
    await database.start()
    try:
        yield WebhookSender(database, SenderOptions(poll=0.02), database.clock)
    finally:
        await database.close()


async def writes_of_polls(sender: WebhookSender) -> tuple[int, list[int]]:
    before = sender.database.writes_asked
    taken = [await sender.send_due() for _ in range(POLLS)]
    return sender.database.writes_asked - before, taken


async def test_polls_without_a_webhook_write_nothing(make_app: Any, sender: WebhookSender) -> None:
    await make_app(Parked, worker=False)
    assert await writes_of_polls(sender) == (0, [0] * POLLS)


async def test_polls_with_webhooks_but_nothing_due_write_nothing(
    make_app: Any, sender: WebhookSender
) -> None:
    app = await make_app(Parked, worker=False)
    await app.service.create_webhook("http://127.0.0.1:9/hook", ["aborted"])
    await app.service.trigger(Parked.id)  # PENDING: no event the webhook wants
    assert await writes_of_polls(sender) == (0, [0] * POLLS)


async def test_a_due_delivery_is_leased_sent_and_recorded(
    make_app: Any, sender: WebhookSender
) -> None:
    async with receiving() as receiver:
        app = await make_app(Parked, worker=False)
        await app.service.create_webhook(receiver.url, ["aborted"])
        run = await app.service.trigger(Parked.id)
        await app.service.abort(run.id)
        before = sender.database.writes_asked
        await sender.start()
        try:
            await eventually(lambda: len(receiver.requests) == 1)

            async def recorded() -> bool:
                found = await app.service.webhook_deliveries(run_id=run.id)
                return [d.state for d in found] == [DeliveryState.DELIVERED]

            await eventually(recorded)
        finally:
            await sender.stop()
        # the lease and the attempt's record, and no write on the idle polls
        # before or after them
        assert sender.database.writes_asked - before == 2
        assert await writes_of_polls(sender) == (0, [0] * POLLS)


async def test_the_read_searches_the_due_index_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'idle.db'}"
    app = Taskloom(url, registry=Registry([Parked]), worker=False, load_entry_points=False)
    await app.start()
    try:
        plan = await app.database.read(plans_of(lambda c: store.any_due(c, time.time())))
    finally:
        await app.stop()
    assert plan == [
        "SEARCH webhook_deliveries USING INDEX ix_webhook_deliveries_due (next_attempt_at<?)"
    ]

"""Webhooks against a real HTTP receiver on loopback, on SQLite and
PostgreSQL: the outbox written with the transition, signed JSON posts,
retries with backoff until an endpoint answers or the retry time is up,
the record of each delivery, delivery after a restart, and a receiver
that does not answer holding up no run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import text

from taskloom.definitions import Retry, TaskController, TaskDefinition
from taskloom.definitions.errors import Forbidden, InvalidInput
from taskloom.definitions.webhook_signature import HEADER, verify
from taskloom.definitions.webhooks import DeliveryState, WebhookDeliveryView
from taskloom.server.auth.identity import Actor, Role
from taskloom.server.store import webhook_outbox
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, error, served
from tests.support.receiver import receiving
from tests.support.waiting import eventually

FAST: dict[str, Any] = {
    "webhook_poll_interval": 0.02,
    "webhook_backoff": 0.05,
    "webhook_max_backoff": 0.2,
}


class QuickInput(BaseModel):
    n: int = 0


class Quick(TaskDefinition[QuickInput]):
    id = "hook-quick"

    async def run(self, controller: TaskController[QuickInput]) -> Any:
        return controller.response.done(output={"n": controller.input.n})


class FailsOnce(TaskDefinition[Any]):
    id = "hook-fails-once"
    retry = Retry(attempts=1)

    async def run(self, controller: TaskController[Any]) -> Any:
        if controller.run.attempt == 0:
            return controller.response.error("not yet", code="FLAKY")
        return controller.response.done(output="ok")


class Held(TaskDefinition[Any]):
    id = "hook-held"

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.response.continue_(delay=3600)


DEFINITIONS = (Quick, FailsOnce, Held)


async def deliveries_of(app: Taskloom, run_id: str) -> list[WebhookDeliveryView]:
    return await app.service.webhook_deliveries(run_id=run_id)


async def test_a_finished_run_is_posted_as_signed_json_and_recorded(make_app: Any) -> None:
    async with receiving() as receiver:
        app = await make_app(*DEFINITIONS, **FAST)
        created = await app.service.create_webhook(receiver.url, ["succeeded", "failed"])
        run = await app.service.trigger("hook-quick", {"n": 7}, created_by="ada")
        await eventually(lambda: len(receiver.requests) == 1)
        request = receiver.requests[0]
        document = verify(created.secret, request.body, request.headers[HEADER.lower()])
        assert document["event"] == "run.succeeded"
        assert document["run"] == {
            "id": run.id,
            "definition_id": "hook-quick",
            "name": None,
            "status": "SUCCEEDED",
            "attempt": 0,
            "output": {"n": 7},
            "error": None,
            "created_by": "ada",
        }
        assert request.headers["taskloom-event"] == "run.succeeded"
        assert request.headers["taskloom-delivery"] == document["id"]
        assert request.headers["content-type"] == "application/json"

        async def delivered() -> bool:
            found = await deliveries_of(app, run.id)
            return [d.state for d in found] == [DeliveryState.DELIVERED]

        await eventually(delivered)
        (delivery,) = await deliveries_of(app, run.id)
        assert (delivery.attempts, delivery.response_status) == (1, 200)
        assert str(delivery.id) == document["id"] and delivery.next_attempt_at is None
        with pytest.raises(Exception, match="does not match"):
            verify("another secret!!", request.body, request.headers[HEADER.lower()])


async def test_a_receiver_that_fails_twice_then_answers_gets_the_same_delivery_three_times(
    make_app: Any,
) -> None:
    async with receiving(answers=[500, 503]) as receiver:
        app = await make_app(*DEFINITIONS, **FAST)
        await app.service.create_webhook(receiver.url, ["succeeded"], ["hook-quick"])
        run = await app.service.trigger("hook-quick")

        async def delivered() -> bool:
            found = await deliveries_of(app, run.id)
            return bool(found) and found[0].state is DeliveryState.DELIVERED

        await eventually(delivered)
        (delivery,) = await deliveries_of(app, run.id)
    assert len(receiver.requests) == 3
    assert len({r.headers["taskloom-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert (delivery.attempts, delivery.response_status, delivery.last_error) == (3, 200, None)


async def test_an_endpoint_that_never_answers_2xx_is_given_up_after_the_retry_time(
    make_app: Any,
) -> None:
    async with receiving(answers=[500] * 100) as receiver:
        app = await make_app(*DEFINITIONS, **FAST, webhook_retry_seconds=2.0)
        await app.service.create_webhook(receiver.url, ["succeeded"])
        run = await app.service.trigger("hook-quick")

        async def given_up() -> bool:
            found = await deliveries_of(app, run.id)
            return bool(found) and found[0].state is DeliveryState.GAVE_UP

        await eventually(given_up)
        (delivery,) = await deliveries_of(app, run.id)
        tried = len(receiver.requests)
    assert delivery.attempts == tried >= 2
    assert (delivery.response_status, delivery.last_error) == (500, "HTTP 500")
    assert delivery.next_attempt_at is None and delivery.delivered_at is None


async def test_an_unreachable_endpoint_is_recorded_with_its_error(make_app: Any) -> None:
    async with receiving() as receiver:
        url = receiver.url
    app = await make_app(*DEFINITIONS, **FAST, webhook_retry_seconds=0.2)
    await app.service.create_webhook(url, ["succeeded"])  # nothing listens there now
    run = await app.service.trigger("hook-quick")

    async def given_up() -> bool:
        found = await deliveries_of(app, run.id)
        return bool(found) and found[0].state is DeliveryState.GAVE_UP

    await eventually(given_up)
    (delivery,) = await deliveries_of(app, run.id)
    assert delivery.response_status is None
    assert delivery.last_error is not None and delivery.last_error.startswith("ConnectError")


async def test_each_event_only_for_the_webhooks_that_want_it(make_app: Any) -> None:
    async with receiving() as receiver:
        app = await make_app(*DEFINITIONS, **FAST)
        service = app.service
        lifecycle = await service.create_webhook(
            receiver.url, ["started", "retrying", "succeeded", "failed"], ["hook-fails-once"]
        )
        control = await service.create_webhook(receiver.url, ["paused", "aborted"], ["hook-held"])
        flaky = await service.trigger("hook-fails-once")
        held = await service.trigger("hook-held", delay=3600)
        await service.pause(held.id)
        await service.abort(held.id)
        other = await service.trigger("hook-quick")  # no webhook wants its definition
        await service.wait(flaky.id, timeout=10)
        await service.wait(other.id, timeout=10)

        def events(webhook_id: str, found: list[WebhookDeliveryView]) -> list[str]:
            mine = [d for d in found if d.webhook_id == webhook_id]
            return [d.event.value for d in sorted(mine, key=lambda d: d.id)]

        async def sent() -> bool:
            return len(receiver.requests) == 6

        await eventually(sent)
        flaky_events = await deliveries_of(app, flaky.id)
        held_events = await deliveries_of(app, held.id)
        assert events(lifecycle.webhook.id, flaky_events) == [
            "started",
            "retrying",
            "started",
            "succeeded",
        ]
        assert events(control.webhook.id, held_events) == ["paused", "aborted"]
        assert await deliveries_of(app, other.id) == []
        attempts = [d.event.value for d in sorted(flaky_events, key=lambda d: d.id)]
        assert attempts[-1] == "succeeded"


async def test_deliveries_written_with_no_sender_running_go_out_after_a_restart(
    database_url: str,
) -> None:
    """The outbox row is committed with the transition itself: a process with
    no sender (a worker-less one here) writes it, and a later one sends it."""
    async with receiving() as receiver:
        writer = Taskloom(database_url, DEFINITIONS, worker=False, load_entry_points=False)
        await writer.start()
        try:
            await writer.service.create_webhook(receiver.url, ["aborted"])
            run = await writer.service.trigger("hook-held", delay=3600)
            await writer.service.abort(run.id)
            (queued,) = await writer.service.webhook_deliveries(run_id=run.id)
            assert (queued.state, queued.attempts) == (DeliveryState.QUEUED, 0)
        finally:
            await writer.stop()
        assert receiver.requests == []
        sender = Taskloom(database_url, DEFINITIONS, load_entry_points=False, **FAST)
        await sender.start()
        try:
            await eventually(lambda: len(receiver.requests) == 1)
            assert receiver.requests[0].headers["taskloom-delivery"] == str(queued.id)
        finally:
            await sender.stop()


async def test_a_receiver_that_does_not_answer_holds_up_no_run(make_app: Any) -> None:
    async with receiving() as receiver:
        receiver.hold = asyncio.Event()
        app = await make_app(*DEFINITIONS, **FAST, webhook_timeout=30.0)
        await app.service.create_webhook(receiver.url, ["succeeded"])
        first = await app.service.trigger("hook-quick")
        await eventually(lambda: len(receiver.requests) == 1)
        runs = await app.service.trigger_many("hook-quick", [{"n": n} for n in range(20)])
        for run in runs:
            assert (await app.service.wait(run.id, timeout=10)).status.value == "SUCCEEDED"
        assert not receiver.hold.is_set()
        receiver.hold.set()
        await eventually(lambda: len(receiver.requests) == 21)
        assert first.id in {json.loads(r.body)["run"]["id"] for r in receiver.requests}


async def test_only_admins_manage_webhooks_and_bad_input_is_refused(make_app: Any) -> None:
    app = await make_app(*DEFINITIONS, worker=False)
    service = app.service
    developer = Actor("dev", Role.DEVELOPER)
    with pytest.raises(Forbidden):
        await service.create_webhook("http://127.0.0.1:1/x", ["failed"], actor=developer)
    with pytest.raises(Forbidden):
        await service.list_webhooks(actor=developer)
    refused = {
        "url": ("ftp://example.com/x", ["failed"], None, None),
        "events": ("http://127.0.0.1/x", ["exploded"], None, None),
        "definitionIds": ("http://127.0.0.1/x", ["failed"], ["nope"], None),
        "secret": ("http://127.0.0.1/x", ["failed"], None, "short"),
    }
    for field, arguments in refused.items():
        with pytest.raises(InvalidInput) as caught:
            await service.create_webhook(*arguments)
        assert caught.value.errors[0]["loc"] == [field]
    assert await service.list_webhooks() == []
    created = await service.create_webhook("https://example.com/hook", ["FAILED", "failed"])
    assert created.secret.startswith("whsec_")
    assert [w.events for w in await service.list_webhooks()] == [created.webhook.events]
    deleted = await service.delete_webhook(created.webhook.id)
    assert deleted.id == created.webhook.id and await service.list_webhooks() == []


async def test_webhooks_over_graphql(database_url: str) -> None:
    async with (
        receiving() as receiver,
        served(database_url, definitions=DEFINITIONS, **FAST) as (taskloom, client),
    ):
        refused = await error(
            client,
            'mutation { createWebhook(url: "not a url", events: [FAILED]) { secret } }',
        )
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert refused["extensions"]["errors"][0]["loc"] == ["url"]
        created = await data(
            client,
            "mutation($url: String!) { createWebhook(url: $url, events: [SUCCEEDED],"
            ' definitionIds: ["hook-quick"], secret: "sixteen chars ok")'
            " { webhook { id url events definitionIds } secret } }",
            {"url": receiver.url},
        )
        webhook = created["createWebhook"]["webhook"]
        assert created["createWebhook"]["secret"] == "sixteen chars ok"
        assert webhook["events"] == ["SUCCEEDED"] and webhook["definitionIds"] == ["hook-quick"]
        listed = await data(client, "{ webhooks { id url } }")
        assert listed == {"webhooks": [{"id": webhook["id"], "url": receiver.url}]}
        run = await taskloom.service.trigger("hook-quick")
        query = (
            "query($id: ID!) { webhookDeliveries(webhookId: $id) {"
            " runId event state attempts responseStatus } }"
        )

        async def delivered() -> bool:
            found = await data(client, query, {"id": webhook["id"]})
            return [d["state"] for d in found["webhookDeliveries"]] == ["DELIVERED"]

        await eventually(delivered)
        found = await data(client, query, {"id": webhook["id"]})
        assert found["webhookDeliveries"] == [
            {
                "runId": run.id,
                "event": "SUCCEEDED",
                "state": "DELIVERED",
                "attempts": 1,
                "responseStatus": 200,
            }
        ]
        deleted = await data(
            client, "mutation($id: ID!) { deleteWebhook(id: $id) { id } }", {"id": webhook["id"]}
        )
        assert deleted == {"deleteWebhook": {"id": webhook["id"]}}
        assert await data(client, "{ webhookDeliveries { id } }") == {"webhookDeliveries": []}


async def test_two_senders_share_the_outbox_and_send_each_delivery_once(
    database_url: str,
) -> None:
    """Two processes' senders (two Taskloom instances on one database, each
    with its own sender) lease deliveries: each goes out once."""
    async with receiving() as receiver:
        apps = [
            Taskloom(database_url, DEFINITIONS, load_entry_points=False, **FAST) for _ in range(2)
        ]
        for app in apps:
            await app.start()
        try:
            await apps[0].service.create_webhook(receiver.url, ["succeeded"])
            runs = await apps[0].service.trigger_many("hook-quick", [{"n": n} for n in range(30)])
            await eventually(lambda: len(receiver.requests) >= 30)
            for app in apps:
                assert app.webhook_sender is not None
                await app.webhook_sender.stop()  # nothing more goes out
        finally:
            for app in apps:
                await app.stop()
    sent = [json.loads(r.body)["run"]["id"] for r in receiver.requests]
    assert sorted(sent) == sorted(run.id for run in runs)


def outbox_trigger_exists(conn: Any) -> bool:
    if conn.dialect.name == "postgresql":
        query = "SELECT count(*) FROM pg_trigger WHERE tgname = 'task_runs_webhook_outbox'"
    else:
        query = "SELECT count(*) FROM sqlite_master WHERE name = 'task_runs_webhook_outbox'"
    return bool(conn.execute(text(query)).scalar_one())


async def test_the_outbox_trigger_exists_only_while_webhooks_do(database_url: str) -> None:
    """A database without webhooks pays nothing for them: the trigger comes
    with the first webhook and goes at the first start after the last one;
    one that a migration dropped comes back at start."""
    options: dict[str, Any] = {"worker": False, "load_entry_points": False}
    app = Taskloom(database_url, DEFINITIONS, **options)
    await app.start()
    try:
        assert not await app.database.read(outbox_trigger_exists)
        first = await app.service.create_webhook("http://127.0.0.1:9/a", ["failed"])
        second = await app.service.create_webhook("http://127.0.0.1:9/b", ["aborted"])
        assert await app.database.read(outbox_trigger_exists)
        await app.service.delete_webhook(first.webhook.id)
        await app.database.write_fn(webhook_outbox.disarm)  # as a table rebuild would
    finally:
        await app.stop()
    again = Taskloom(database_url, DEFINITIONS, **options)
    await again.start()
    try:
        assert await again.database.read(outbox_trigger_exists)
        await again.service.delete_webhook(second.webhook.id)
        run = await again.service.trigger("hook-held", delay=3600)
        await again.service.abort(run.id)  # the trigger is still there, and finds no webhook
        assert await again.service.webhook_deliveries() == []
    finally:
        await again.stop()
    last = Taskloom(database_url, DEFINITIONS, **options)
    await last.start()
    try:
        assert not await last.database.read(outbox_trigger_exists)
    finally:
        await last.stop()

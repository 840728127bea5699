"""Deadlines and expiry: a run past its total deadline (across iterations
and retries) ends FAILED with DEADLINE, an async iteration in flight
cancelled; a run not started by its expiry ends without running, EXPIRED.
Set on the definition or per trigger."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest

from taskloom.definitions import InvalidInput, Retry, TaskController, TaskDefinition, TaskStatus
from taskloom.server.taskloom import Taskloom
from tests.integration.graphql_support import data, error, served

WAIT = 15.0


class Sleeper(TaskDefinition[Any]):
    """One long async iteration: only the deadline ends it."""

    id = "deadline-sleeper"
    deadline = 0.5
    cancelled: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            Sleeper.cancelled.append(controller.run.id)
            raise
        return "woke"


class Looper(TaskDefinition[Any]):
    """Short iterations that never end the run, with a retry policy that
    would go on for long."""

    id = "deadline-looper"
    retry = Retry(attempts=1000, wait_seconds=0.05)

    async def run(self, controller: TaskController[Any]) -> Any:
        n = controller.state.get("n", 0) + 1
        if n % 2:
            return controller.response.continue_(state={"n": n}, delay=0.05)
        raise RuntimeError("flaky")


class Quick(TaskDefinition[Any]):
    id = "deadline-quick"
    ran: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Quick.ran.append(controller.run.id)
        return "ran"


class SlowStart(TaskDefinition[Any]):
    """A first iteration longer than the run's expiry, then a second."""

    id = "deadline-slow-start"

    async def run(self, controller: TaskController[Any]) -> Any:
        if not controller.state:
            await asyncio.sleep(0.4)
            return controller.response.continue_(state={"started": True})
        return "ran"


class ExpiringQuick(Quick):
    id = "deadline-expiring"
    expires = 0.2


def setup_function() -> None:
    Sleeper.cancelled.clear()
    Quick.ran.clear()


async def test_a_deadline_cancels_the_iteration_in_flight(make_app: Any) -> None:
    app: Taskloom = await make_app(Sleeper)
    run = await app.service.trigger(Sleeper, {})
    assert run.deadline_seconds == 0.5
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None
    assert (done.error.code, done.error.message) == (
        "DEADLINE",
        "the run passed its deadline of 0.5 s",
    )
    assert Sleeper.cancelled == [run.id]
    assert done.finished_at is not None and done.started_at is not None
    assert (done.finished_at - done.started_at).total_seconds() >= 0.5


async def test_the_deadline_spans_iterations_and_retries(make_app: Any) -> None:
    app: Taskloom = await make_app(Looper)
    run = await app.service.trigger(Looper, {}, deadline=0.6)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.FAILED
    assert done.error is not None and done.error.code == "DEADLINE"
    assert done.iterations > 1
    assert done.attempt >= 1, "it was retried before the deadline ended it"


async def test_a_run_not_started_in_time_expires_without_running(make_app: Any) -> None:
    # No worker: the run cannot start; the sweep of another Taskloom ends it.
    api: Taskloom = await make_app(Quick, ExpiringQuick, worker=False)
    by_trigger = await api.service.trigger(Quick, {}, expires=0.2)
    by_definition = await api.service.trigger(ExpiringQuick, {})
    at_time = await api.service.trigger(
        Quick, {}, expires=datetime.now(UTC) + timedelta(seconds=0.2)
    )
    kept = await api.service.trigger(Quick, {}, expires=3600)
    assert by_trigger.expires_at is not None
    await asyncio.sleep(0.3)
    await make_app(Quick, ExpiringQuick)
    for run in (by_trigger, by_definition, at_time):
        done = await api.service.wait(run.id, timeout=WAIT)
        assert done.status is TaskStatus.FAILED
        assert done.error is not None
        assert (done.error.code, done.error.message) == ("EXPIRED", "expired before it started")
        assert done.iterations == 0
    assert (await api.service.wait(kept.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert Quick.ran == [kept.id]


async def test_a_run_expired_when_a_worker_finds_it_does_not_run(make_app: Any) -> None:
    # Its expiry already past: whichever comes first, the worker's claim
    # (the engine then ends it without calling run()) or its sweep.
    app: Taskloom = await make_app(Quick)
    past = datetime.now(UTC) - timedelta(seconds=5)
    runs = [await app.service.trigger(Quick, {}, expires=past) for _ in range(20)]
    for run in runs:
        done = await app.service.wait(run.id, timeout=WAIT)
        assert done.error is not None and done.error.code == "EXPIRED"
        assert done.iterations == 0
    assert Quick.ran == []


async def test_a_run_that_started_in_time_does_not_expire(make_app: Any) -> None:
    # Expiry is about starting: a first iteration that ends after the
    # expiry time must not turn the started run into "expired before it
    # started".
    app: Taskloom = await make_app(SlowStart)
    run = await app.service.trigger(SlowStart, {}, expires=0.2)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert (done.status, done.error) == (TaskStatus.SUCCEEDED, None)
    assert done.iterations == 2


async def test_bad_deadlines_are_refused(make_app: Any) -> None:
    app: Taskloom = await make_app(Quick, worker=False)
    with pytest.raises(InvalidInput, match="deadline"):
        await app.service.trigger(Quick, {}, deadline=0)
    with pytest.raises(InvalidInput, match="expires"):
        await app.service.trigger(Quick, {}, expires=-1)
    assert await app.service.count_runs() == 0


TRIGGER = """mutation($deadline: Float, $expires: Float, $at: DateTime) {
  triggerTask(definitionId: "deadline-quick", deadlineSeconds: $deadline,
    expiresInSeconds: $expires, expiresAt: $at) { id deadlineSeconds expiresAt }
}"""


async def test_graphql_deadline_and_expiry(database_url: str) -> None:
    async with served(database_url, definitions=(Quick,), worker=False) as (_app, client):
        before = time.time()
        run = (await data(client, TRIGGER, {"deadline": 30, "expires": 60}))["triggerTask"]
        assert run["deadlineSeconds"] == 30
        expires = datetime.fromisoformat(run["expiresAt"]).timestamp()
        assert before + 60 <= expires <= time.time() + 60
        both = await error(client, TRIGGER, {"expires": 60, "at": datetime.now(UTC).isoformat()})
        assert both["extensions"]["code"] == "BAD_USER_INPUT"
        bad = await error(client, TRIGGER, {"deadline": -5})
        assert bad["extensions"]["code"] == "BAD_USER_INPUT"

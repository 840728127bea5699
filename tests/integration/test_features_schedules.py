"""Schedules on the real engine and database: one run per due tick even
with two workers firing at once, missed ticks skipped except the latest,
enable/disable, and the refusals."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import update

from taskloom.definitions import Forbidden, NotFound, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.server.auth.identity import Actor, Role
from taskloom.server.engine.scheduler import latest_tick
from taskloom.server.store.models import schedules
from taskloom.server.store.schedules import SyncSchedules, list_schedules

WAIT = 10.0


@pytest.fixture(autouse=True)
async def clear_of_a_tick() -> None:
    """These tests read the wall clock against a */5 schedule: one that
    straddles a tick would compare two different "latest" ticks. Started
    within 10 s of one, they start just after it instead."""
    until_tick = 300 - time.time() % 300
    if until_tick < 10:
        await asyncio.sleep(until_tick + 0.5)


class Every5(TaskDefinition[Any]):
    id = "sched-every5"
    schedule = "*/5 * * * *"
    schedule_input = {"source": "cron"}

    async def run(self, controller: TaskController[Any]) -> Any:
        return controller.input.model_dump()


class Unscheduled(TaskDefinition[Any]):
    id = "sched-none"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


async def _pretend_downtime(app: Any, hours: float) -> None:
    past = time.time() - hours * 3600
    await app.database.write_fn(
        lambda c: c.execute(
            update(schedules)
            .where(schedules.c.definition_id == "sched-every5")
            .values(next_run_at=past)
        )
    )


async def test_one_run_per_tick_with_missed_ticks_skipped(make_app: Any) -> None:
    first = await make_app(Every5, Unscheduled)
    second = await make_app(Every5, Unscheduled)
    (schedule,) = await first.service.schedules()
    assert (schedule.definition_id, schedule.expression, schedule.timezone) == (
        "sched-every5",
        "*/5 * * * *",
        "UTC",
    )
    assert schedule.enabled and schedule.last_run_at is None
    assert schedule.next_run_at is not None and schedule.next_run_at.timestamp() > time.time()

    await _pretend_downtime(first, hours=3)  # 36 ticks were missed
    now = time.time()
    assert first.scheduler is not None and second.scheduler is not None
    await asyncio.gather(first.scheduler.fire_due(), second.scheduler.fire_due())
    runs = (await first.service.list_runs(RunFilter(definition_id="sched-every5"))).items
    assert len(runs) == 1  # only the latest missed tick, once
    tick = latest_tick("*/5 * * * *", "UTC", now)
    assert runs[0].idempotency_key == "schedule:" + datetime.fromtimestamp(tick, UTC).isoformat()
    done = await first.service.wait(runs[0].id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED and done.output == {"source": "cron"}
    (after,) = await first.service.schedules()
    assert after.last_run_at is not None and after.last_run_at.timestamp() == tick
    assert after.next_run_at is not None and after.next_run_at.timestamp() > now
    assert await first.scheduler.fire_due() == []  # nothing due any more


async def test_disabled_schedules_do_not_fire(make_app: Any) -> None:
    app = await make_app(Every5, Unscheduled)
    off = await app.service.set_schedule_enabled("sched-every5", False)
    assert not off.enabled
    await _pretend_downtime(app, hours=1)
    assert app.scheduler is not None
    assert await app.scheduler.fire_due() == []
    assert await app.service.count_runs(RunFilter(definition_id="sched-every5")) == 0
    on = await app.service.set_schedule_enabled("sched-every5", True)
    assert on.enabled and on.next_run_at is not None
    assert on.next_run_at.timestamp() > time.time()  # no catching up after a pause
    with pytest.raises(NotFound):
        await app.service.set_schedule_enabled("sched-none", True)
    with pytest.raises(NotFound):
        await app.service.set_schedule_enabled("no-such-definition", True)
    user = Actor(owner="u", role=Role.USER)
    with pytest.raises(Forbidden):
        await app.service.set_schedule_enabled("sched-every5", False, actor=user)


async def test_the_scheduler_loop_fires_a_due_tick_by_itself(make_app: Any) -> None:
    app = await make_app(Every5)
    await _pretend_downtime(app, hours=1)
    assert app.scheduler is not None
    app.scheduler.wake()
    deadline = time.monotonic() + WAIT
    where = RunFilter(definition_id="sched-every5")
    while await app.service.count_runs(where) == 0:
        assert time.monotonic() < deadline, "the scheduler did not fire"
        await asyncio.sleep(0.05)
    (run,) = (await app.service.list_runs(where)).items
    assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert await app.service.count_runs(where) == 1


class NeedsTarget(BaseModel):
    target: str


class Misconfigured(TaskDefinition[NeedsTarget]):
    """Its schedule_input is refused by its own input model."""

    id = "sched-misconfigured"
    schedule = "*/5 * * * *"

    async def run(self, controller: TaskController[NeedsTarget]) -> Any:
        return None


async def test_a_tick_that_cannot_be_triggered_is_skipped(make_app: Any) -> None:
    app = await make_app(Misconfigured, Every5, worker=True)
    past = time.time() - 3600
    await app.database.write_fn(lambda c: c.execute(update(schedules).values(next_run_at=past)))
    assert app.scheduler is not None
    await app.scheduler.fire_due()
    assert await app.service.count_runs(RunFilter(definition_id="sched-every5")) == 1
    assert await app.service.count_runs(RunFilter(definition_id="sched-misconfigured")) == 0
    moved = {s.definition_id: s for s in await app.service.schedules()}["sched-misconfigured"]
    assert moved.next_run_at is not None and moved.next_run_at.timestamp() > time.time()


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_processes_starting_together_write_a_new_schedule_once(make_app: Any) -> None:
    """Workers starting together on PostgreSQL each find no row for a new
    schedule and write one: the second leaves the first's alone instead of
    failing its start."""
    app = await make_app(Unscheduled, worker=False)
    sync = SyncSchedules({Every5.id: ("*/5 * * * *", "UTC", time.time() + 300)}, time.time())
    engine = app.database.engine
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await first.run_sync(sync.apply)
        await second.begin()
        waiting = asyncio.create_task(second.run_sync(sync.apply))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # held by the first's uncommitted row
        await first.commit()
        await waiting
        await second.commit()
    rows = await app.database.read(list_schedules)
    assert [row["definition_id"] for row in rows] == [Every5.id]

"""Deleting one finished run, purging old finished runs in batches, and the
transactional trigger through a caller's own session."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from taskloom.definitions import (
    Conflict,
    NotFound,
    Retry,
    TaskController,
    TaskDefinition,
    TaskStatus,
)
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.server.store.models import logs, results, runs

WAIT = 10.0


class Noisy(TaskDefinition[Any]):
    id = "ret-noisy"
    retry = Retry(attempts=1)

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("working")
        if controller.run.attempt == 0:
            return controller.response.error("first try fails")
        if (controller.input.model_extra or {}).get("child"):
            controller.trigger("ret-noisy", {})
        return "ok"


async def _count(app: Any, table: Any, run_id: str) -> int:
    def query(conn: Any) -> int:
        column = table.c.id if table is runs else table.c.run_id
        return int(conn.execute(select(func.count()).where(column == run_id)).scalar_one())

    result: int = await app.database.read(query)
    return result


async def test_delete_removes_a_finished_run_with_its_logs_and_history(make_app: Any) -> None:
    app = await make_app(Noisy)
    run = await app.service.trigger("ret-noisy", {"child": True})
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    children = (await app.service.list_runs(RunFilter(parent_id=run.id))).items
    assert len(children) == 1
    assert len(await app.service.history(run.id)) == 2
    # The first attempt's record is stored; the second is the run itself.
    assert await _count(app, logs, run.id) > 0 and await _count(app, results, run.id) == 1
    deleted = await app.service.delete(run.id)
    assert deleted.id == run.id
    assert await app.service.find(run.id) is None
    assert await _count(app, logs, run.id) == 0 and await _count(app, results, run.id) == 0
    orphan = await app.service.get(children[0].id)  # children stay, without a parent
    assert orphan.parent_id is None
    with pytest.raises(NotFound):
        await app.service.delete(run.id)


async def test_deleting_a_run_that_has_not_ended_is_a_conflict(make_app: Any) -> None:
    app = await make_app(Noisy, worker=False)
    run = await app.service.trigger("ret-noisy", delay=3600)
    with pytest.raises(Conflict):
        await app.service.delete(run.id)
    await app.service.pause(run.id)
    with pytest.raises(Conflict):
        await app.service.delete(run.id)
    assert (await app.service.get(run.id)).status is TaskStatus.PAUSED


async def test_purge_deletes_old_finished_runs_in_batches(make_app: Any) -> None:
    app = await make_app(Noisy, worker=False)
    old = [await app.service.trigger("ret-noisy") for _ in range(7)]
    for run in old:
        await app.service.abort(run.id)
    recent = await app.service.trigger("ret-noisy")
    await app.service.abort(recent.id)
    waiting = await app.service.trigger("ret-noisy", delay=3600)
    long_ago = time.time() - 40 * 86_400
    await app.database.write_fn(
        lambda conn: conn.execute(
            update(runs)
            .where(runs.c.id.in_([r.id for r in old] + [waiting.id]))
            .values(finished_at=long_ago, created_at=long_ago)
        )
    )
    # the pending run has a finished_at in the past here, but it has not ended
    assert await app.service.purge_finished(30, batch_size=3) == 7
    remaining = {r.id for r in (await app.service.list_runs()).items}
    assert remaining == {recent.id, waiting.id}
    assert await _count(app, logs, old[0].id) == 0
    assert await app.service.count_logs(LogFilter(run_id=recent.id)) == 1
    assert await app.service.purge_finished(30) == 0


async def test_a_transactional_trigger_commits_or_rolls_back_with_the_caller(
    make_app: Any, database_url: str
) -> None:
    app = await make_app(Noisy)
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session:
            await session.begin()
            kept = await app.service.trigger("ret-noisy", session=session)
            assert await app.service.find(kept.id) is None  # not visible before commit
            await session.commit()
        done = await app.service.wait(kept.id, timeout=WAIT)
        assert done.status is TaskStatus.SUCCEEDED
        async with AsyncSession(engine) as session:
            await session.begin()
            dropped = await app.service.trigger("ret-noisy", session=session)
            await session.rollback()
        assert await app.service.find(dropped.id) is None
        assert await app.service.count_runs() == 1
    finally:
        await engine.dispose()


async def test_the_built_in_retention_definition_is_scheduled_and_purges(make_app: Any) -> None:
    app = await make_app(Noisy, maintenance=True, retention_days=30)
    schedule = {s.definition_id: s for s in await app.service.schedules()}["taskloom.retention"]
    assert schedule.enabled and schedule.expression == "17 3 * * *"
    old = await app.service.trigger("ret-noisy", delay=3600)
    await app.service.abort(old.id)
    long_ago = time.time() - 31 * 86_400
    await app.database.write_fn(
        lambda conn: conn.execute(
            update(runs).where(runs.c.id == old.id).values(finished_at=long_ago)
        )
    )
    run = await app.service.trigger("taskloom.retention")
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.output == {"deleted": 1, "older_than_days": 30}
    assert await app.service.find(old.id) is None


async def test_maintenance_is_off_for_an_explicit_registry_by_default(make_app: Any) -> None:
    app = await make_app(Noisy, worker=False)
    assert [d.id for d in app.service.definitions()] == ["ret-noisy"]

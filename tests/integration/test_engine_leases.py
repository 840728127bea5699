"""Leases through the real engine: a run whose worker died (simulated by a
claim under a fake worker id that never renews) is rescued back to PENDING
with a log line and finished by a live worker; a run that loses its worker
too often fails with WORKER_LOST."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from taskloom.definitions import LogLevel, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.run_view import RunView
from taskloom.server.store.claims import Claim
from taskloom.server.store.models import runs
from taskloom.server.taskloom import Taskloom

WAIT = 10.0
DEAD = "dead-host:0:000000"


class Leased(TaskDefinition[Any]):
    id = "lease-task"
    calls: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Leased.calls.append(controller.run.id)
        return {"finished_by_rescuer": True}


class Other(TaskDefinition[Any]):
    id = "lease-other"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


async def claim_as_dead_worker(app: Taskloom, lease: float = 0.2) -> list[str]:
    now = time.time()
    rows = await app.database.run_write(Claim(DEAD, 10, now, now + lease, [Leased.id]))
    return [row["id"] for row in rows]


async def until(app: Taskloom, run_id: str, check: Any) -> RunView:
    deadline = time.monotonic() + WAIT
    while True:
        run = await app.service.get(run_id)
        if check(run):
            return run
        assert time.monotonic() < deadline, f"gave up waiting; run is {run.status}"
        await asyncio.sleep(0.02)


async def lease_losses(app: Taskloom, run_id: str) -> int:
    def read(conn: Any) -> int:
        return int(conn.execute(select(runs.c.lease_losses).where(runs.c.id == run_id)).scalar())

    return await app.database.read(read)


async def test_an_expired_lease_is_rescued_and_the_run_finishes(make_app: Any) -> None:
    Leased.calls.clear()
    producer: Taskloom = await make_app(Leased, worker=False)
    run = await producer.service.trigger(Leased.id)
    assert await claim_as_dead_worker(producer) == [run.id]
    claimed = await producer.service.get(run.id)
    assert (claimed.status, claimed.worker_id) == (TaskStatus.RUNNING, DEAD)

    rescuer: Taskloom = await make_app(Leased, lease_seconds=0.6)
    done = await rescuer.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"finished_by_rescuer": True}
    assert Leased.calls == [run.id], "the dead worker never ran it; the rescuer ran it once"
    assert done.iterations == 1
    assert await lease_losses(rescuer, run.id) == 1
    [line] = [e for e in (await rescuer.service.logs(run.id)).items]
    assert line.level is LogLevel.WARNING
    assert line.message == (
        f"lease expired: worker {DEAD} stopped renewing it; run waits for a worker again"
    )
    assert line.data == {"worker_id": DEAD, "losses": 1}


async def test_a_run_that_loses_its_worker_too_often_fails_worker_lost(make_app: Any) -> None:
    producer: Taskloom = await make_app(Leased, worker=False)
    run = await producer.service.trigger(Leased.id)
    # This worker rescues expired leases but never runs lease-task itself.
    await make_app(Other, lease_seconds=0.6, max_lease_losses=2)

    assert await claim_as_dead_worker(producer) == [run.id]
    rescued = await until(producer, run.id, lambda r: r.waiting is not None)
    assert rescued.status is TaskStatus.RUNNING  # started: it waits for a worker
    assert rescued.worker_id is None
    assert rescued.error is None

    assert await claim_as_dead_worker(producer) == [run.id]
    lost = await until(producer, run.id, lambda r: r.has_ended)
    assert lost.status is TaskStatus.FAILED
    assert lost.error is not None
    assert lost.error.code == "WORKER_LOST"
    assert lost.error.message == "the run lost its worker 2 times"
    assert lost.finished_at is not None
    assert lost.has_errors
    assert lost.worker_id is None
    logs = (await producer.service.logs(run.id)).items
    assert [(e.level, e.message) for e in logs] == [
        (
            LogLevel.WARNING,
            f"lease expired: worker {DEAD} stopped renewing it; run waits for a worker again",
        ),
        (
            LogLevel.ERROR,
            f"lease expired: worker {DEAD} stopped renewing it; run failed (WORKER_LOST)",
        ),
    ]
    assert Leased.calls.count(run.id) == 0
    [record] = await producer.service.history(run.id)
    assert (record.attempt, record.status) == (0, TaskStatus.FAILED)
    assert record.error is not None and record.error.code == "WORKER_LOST"
    assert record.started_at is not None


async def test_a_live_worker_keeps_renewing_its_lease(make_app: Any) -> None:
    gate = asyncio.Event()

    class Long(TaskDefinition[Any]):
        id = "lease-long"

        async def run(self, controller: TaskController[Any]) -> Any:
            await asyncio.wait_for(gate.wait(), WAIT)
            return "kept"

    app: Taskloom = await make_app(Long, lease_seconds=1.0, max_lease_losses=1)
    run = await app.service.trigger(Long.id)
    first = await until(app, run.id, lambda r: r.status is TaskStatus.RUNNING)

    def lease(conn: Any) -> float:
        query = select(runs.c.lease_expires_at).where(runs.c.id == run.id)
        return float(conn.execute(query).scalar())

    initial = await app.database.read(lease)
    # Several lease lengths pass; the lease moves forward and nobody rescues it.
    deadline = time.monotonic() + WAIT
    while await app.database.read(lease) < initial + 1.5:
        assert time.monotonic() < deadline, "the lease was never renewed"
        await asyncio.sleep(0.05)
    still = await app.service.get(run.id)
    assert (still.status, still.worker_id) == (TaskStatus.RUNNING, first.worker_id)
    gate.set()
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert await lease_losses(app, run.id) == 0


# SQLite: an integer too large for it. (PostgreSQL stores this outcome; its
# refusals are in test_engine_surrogates.py, through a trigger.)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_run_whose_outcome_cannot_be_saved_does_not_stay_running(
    make_app: Any,
) -> None:
    """The save fails (a value the database refuses); the run must not keep
    a lease renewed by a worker that no longer runs it, even while that
    worker is busy with other runs: it fails at once, OUTCOME_NOT_SAVED
    (engine/unsaveable.py), rather than at lease expiries."""
    gate = asyncio.Event()

    class Busy(TaskDefinition[Any]):
        id = "lease-busy"

        async def run(self, controller: TaskController[Any]) -> Any:
            await asyncio.wait_for(gate.wait(), WAIT)
            return "done"

    class Unsavable(TaskDefinition[Any]):
        id = "lease-unsavable"

        async def run(self, controller: TaskController[Any]) -> Any:
            # Too large an integer for SQLite.
            controller.progress(10**30, None, "u" * 200)
            return None

    app: Taskloom = await make_app(Busy, Unsavable, lease_seconds=1.0, max_lease_losses=2)
    busy = await app.service.trigger(Busy.id)
    await until(app, busy.id, lambda r: r.status is TaskStatus.RUNNING)
    run = await app.service.trigger(Unsavable.id)
    try:
        ended = await until(app, run.id, lambda r: r.status.is_terminal)
    finally:
        gate.set()
    assert ended.status is TaskStatus.FAILED
    assert ended.error is not None and ended.error.code == "OUTCOME_NOT_SAVED"
    assert await lease_losses(app, run.id) == 0
    assert (await app.service.wait(busy.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED


class Fragile(TaskDefinition[Any]):
    """Must not run again once its worker was lost."""

    id = "lease-fragile"
    lease_losses = 1
    calls: ClassVar[int] = 0

    async def run(self, controller: TaskController[Any]) -> Any:
        Fragile.calls += 1
        return None


async def test_a_definitions_own_lease_losses_is_honoured(make_app: Any) -> None:
    """`lease_losses = 1`: the first lost worker fails the run WORKER_LOST,
    whatever the rescuing worker's own TASKLOOM_MAX_LEASE_LOSSES (5)."""
    Fragile.calls = 0
    producer: Taskloom = await make_app(Fragile, worker=False)
    run = await producer.service.trigger(Fragile.id)
    now = time.time()
    await producer.database.run_write(Claim(DEAD, 1, now, now + 0.2, [Fragile.id]))
    rescuer: Taskloom = await make_app(Fragile, lease_seconds=0.6, max_lease_losses=5)
    lost = await until(rescuer, run.id, lambda r: r.has_ended)
    assert lost.status is TaskStatus.FAILED
    assert lost.error is not None and lost.error.code == "WORKER_LOST"
    assert lost.error.message == "the run lost its worker 1 times"
    assert Fragile.calls == 0

"""The worker's slots and claim order through the real engine: never more
runs at once than its concurrency, higher priority first, a delayed run
not before it is due."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.server.store import outcomes
from taskloom.server.taskloom import Taskloom
from tests.support.waiting import eventually

WAIT = 10.0


class Tag(BaseModel):
    tag: str = ""


class Gated(TaskDefinition[Tag]):
    id = "worker-gated"
    running: ClassVar[int] = 0
    peak: ClassVar[int] = 0
    order: ClassVar[list[str]] = []
    gate: ClassVar[asyncio.Event | None] = None

    async def run(self, controller: TaskController[Tag]) -> Any:
        Gated.running += 1
        Gated.peak = max(Gated.peak, Gated.running)
        Gated.order.append(controller.input.tag)
        try:
            if Gated.gate is not None:
                await asyncio.wait_for(Gated.gate.wait(), WAIT)
            await asyncio.sleep(0.01)
        finally:
            Gated.running -= 1
        return time.time()


def reset() -> asyncio.Event:
    Gated.running = Gated.peak = 0
    Gated.order = []
    Gated.gate = asyncio.Event()
    return Gated.gate


async def test_never_more_runs_at_once_than_its_concurrency(make_app: Any) -> None:
    gate = reset()
    app: Taskloom = await make_app(Gated, concurrency=2)
    made = await app.service.trigger_many(Gated.id, [{"tag": str(i)} for i in range(6)])
    deadline = time.monotonic() + WAIT
    while Gated.running < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    running = await app.service.count_runs(RunFilter(statuses=("RUNNING",)))
    assert running == 2
    gate.set()
    for run in made:
        assert (await app.service.wait(run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert Gated.peak == 2


async def test_higher_priority_runs_first(make_app: Any) -> None:
    reset()
    Gated.gate = None
    producer: Taskloom = await make_app(Gated, worker=False)
    runs = [
        await producer.service.trigger(Gated.id, {"tag": tag}, priority=priority)
        for tag, priority in [("low", 0), ("high", 10), ("mid", 5), ("low2", 0)]
    ]
    app: Taskloom = await make_app(Gated, concurrency=1)
    for run in runs:
        await app.service.wait(run.id, timeout=WAIT)
    assert Gated.order == ["high", "mid", "low", "low2"]


async def test_a_delayed_run_starts_when_due_not_before(make_app: Any) -> None:
    reset()
    Gated.gate = None
    app: Taskloom = await make_app(Gated)
    run = await app.service.trigger(Gated.id, {"tag": "later"}, delay=0.5)
    done = await app.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.started_at is not None
    assert done.started_at >= run.run_at
    assert done.output >= run.run_at.timestamp()
    # Woken by the due time, not by the next poll long after it.
    assert done.started_at.timestamp() - run.run_at.timestamp() < 2.0


class Quick(TaskDefinition[Tag]):
    id = "worker-quick"

    async def run(self, controller: TaskController[Tag]) -> Any:
        return controller.input.tag


async def test_an_outcome_that_cannot_be_saved_fails_alone(
    make_app: Any, monkeypatch: Any, caplog: Any
) -> None:
    """The worker writes outcomes in batches: one that the database refuses
    leaves its run RUNNING (for lease rescue) and frees its slot, while the
    rest of its batch is saved. (In this process: the refusal is patched
    into the store's own path, which the writer process does not take.)"""
    app: Taskloom = await make_app(Quick, concurrency=2, worker=False)
    made = await app.service.trigger_many(Quick.id, [{"tag": str(i)} for i in range(6)])
    doomed = made[2].id
    finish = outcomes.finish

    def refuse_one(conn: Any, batch: Any) -> list[bool]:
        if any(outcome.run_id == doomed for outcome in batch):
            raise RuntimeError("the database refused this outcome")
        return finish(conn, batch)

    monkeypatch.setattr(outcomes, "finish", refuse_one)
    worker_app: Taskloom = await make_app(Quick, concurrency=2, sqlite_writer_process=False)
    others = [run.id for run in made if run.id != doomed]
    for run_id in others:
        assert (await worker_app.service.wait(run_id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    assert (await worker_app.service.get(doomed)).status is TaskStatus.RUNNING
    assert worker_app.worker is not None
    worker = worker_app.worker
    await eventually(lambda: not worker.busy)  # the refused run's slot is free again
    # Logged by the saver once the write answers (the slot was freed before).
    await eventually(
        lambda: any(f"run {doomed}: the engine failed to save" in r.message for r in caplog.records)
    )

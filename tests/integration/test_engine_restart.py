"""Process restart and graceful shutdown: a new Taskloom on the same
database finds its runs where the old one left them; stopping lets an
in-flight iteration finish within the grace period and releases one that
does not back to PENDING with a log line."""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from taskloom.definitions import LogLevel, TaskController, TaskDefinition, TaskStatus
from taskloom.server.taskloom import Taskloom

WAIT = 10.0


class Stepper(TaskDefinition[Any]):
    """Five iterations, one step each, a short pause between them."""

    id = "restart-stepper"
    seen: ClassVar[list[tuple[int, dict[str, Any]]]] = []

    async def run(self, controller: TaskController[Any]) -> Any:
        Stepper.seen.append((controller.run.iteration, dict(controller.state)))
        step = controller.state.get("step", 0) + 1
        controller.progress(step, 5, "steps")
        if step == 5:
            return controller.response.done(output={"steps": step})
        return controller.response.continue_(state={"step": step}, delay=0.15)


class SleepInput(BaseModel):
    seconds: float


class Sleeper(TaskDefinition[SleepInput]):
    id = "restart-sleeper"
    started: ClassVar[asyncio.Event | None] = None
    finished: ClassVar[list[str]] = []

    async def run(self, controller: TaskController[SleepInput]) -> Any:
        if Sleeper.started is not None:
            Sleeper.started.set()
        await asyncio.sleep(controller.input.seconds)
        Sleeper.finished.append(controller.run.id)
        return {"slept": controller.input.seconds}


async def test_a_restarted_process_continues_runs_from_their_saved_state(
    make_app: Any,
) -> None:
    Stepper.seen.clear()
    first: Taskloom = await make_app(Stepper)
    run = await first.service.trigger(Stepper.id)
    deadline = time.monotonic() + WAIT
    while (await first.service.get(run.id)).iterations < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    await first.stop()

    # A process without a worker sees the run exactly where it was left.
    reader: Taskloom = await make_app(Stepper, worker=False)
    left = await reader.service.get(run.id)
    assert left.status is TaskStatus.RUNNING and left.waiting is not None
    assert left.worker_id is None
    assert left.iterations >= 2
    assert left.state == {"step": left.iterations}
    assert left.progress is not None and left.progress.current == left.iterations
    assert len(Stepper.seen) == left.iterations

    second: Taskloom = await make_app(Stepper)
    done = await second.service.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"steps": 5}
    assert done.iterations == 5
    # Every iteration ran once, each from the state the previous one saved.
    assert Stepper.seen == [(i, {"step": i} if i else {}) for i in range(5)]


async def test_pending_and_delayed_runs_survive_a_restart(make_app: Any) -> None:
    first: Taskloom = await make_app(Sleeper, worker=False)
    now_run = await first.service.trigger(Sleeper.id, {"seconds": 0})
    later = await first.service.trigger(Sleeper.id, {"seconds": 0}, delay=0.5)
    await first.stop()
    second: Taskloom = await make_app(Sleeper)
    assert (await second.service.wait(now_run.id, timeout=WAIT)).status is TaskStatus.SUCCEEDED
    done = await second.service.wait(later.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.started_at is not None
    assert done.started_at >= later.run_at


async def test_graceful_shutdown_lets_an_in_flight_iteration_finish(make_app: Any) -> None:
    Sleeper.started = asyncio.Event()
    Sleeper.finished.clear()
    app: Taskloom = await make_app(Sleeper)
    run = await app.service.trigger(Sleeper.id, {"seconds": 0.3})
    await asyncio.wait_for(Sleeper.started.wait(), WAIT)
    await app.stop(grace=5)
    assert Sleeper.finished == [run.id]
    reader: Taskloom = await make_app(Sleeper, worker=False)
    done = await reader.service.get(run.id)
    assert done.status is TaskStatus.SUCCEEDED
    assert done.output == {"slept": 0.3}
    assert [e.message for e in (await reader.service.logs(run.id)).items] == []


async def test_an_iteration_past_the_grace_period_is_released_to_pending(
    make_app: Any,
) -> None:
    Sleeper.started = asyncio.Event()
    Sleeper.finished.clear()
    app: Taskloom = await make_app(Sleeper)
    assert app.worker is not None
    worker_id = app.worker.worker_id
    run = await app.service.trigger(Sleeper.id, {"seconds": 30})
    await asyncio.wait_for(Sleeper.started.wait(), WAIT)
    started = time.monotonic()
    await app.stop(grace=0.2)
    assert time.monotonic() - started < 3
    assert Sleeper.finished == []

    reader: Taskloom = await make_app(Sleeper, worker=False)
    released = await reader.service.get(run.id)
    assert released.status is TaskStatus.RUNNING and released.waiting is not None
    assert released.worker_id is None
    assert released.iterations == 0
    assert released.run_at.timestamp() <= time.time()
    [line] = (await reader.service.logs(run.id)).items
    assert line.level is LogLevel.WARNING
    assert line.message == "worker stopped: iteration interrupted, run waits for a worker again"
    assert line.data == {"worker_id": worker_id}

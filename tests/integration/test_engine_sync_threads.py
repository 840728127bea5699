"""Synchronous `run()` calls that outlive their timeout keep their threads
(Python cannot stop a thread), but never starve the other synchronous runs:
the pool lends a thread for each until it returns."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, ClassVar

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus

WAIT = 15.0
THREADS = 2  # concurrency 2: the pool has two threads


class Hangs(TaskDefinition[Any]):
    """Blocks its thread until the test lets it go."""

    id = "threads-hangs"
    iteration_timeout = 0.3
    release: ClassVar[threading.Event] = threading.Event()

    def run(self, controller: TaskController[Any]) -> Any:
        Hangs.release.wait(30)
        return None


class Quick(TaskDefinition[Any]):
    id = "threads-quick"

    def run(self, controller: TaskController[Any]) -> Any:
        return {"thread": threading.current_thread().name}


async def test_hung_sync_runs_do_not_starve_the_next_ones(make_app: Any) -> None:
    Hangs.release.clear()
    app = await make_app(Hangs, Quick, concurrency=THREADS)
    try:
        hung = [await app.service.trigger(Hangs) for _ in range(THREADS)]
        for run in hung:
            ended = await app.service.wait(run.id, timeout=WAIT)
            assert ended.status is TaskStatus.FAILED
            assert ended.error is not None and ended.error.code == "TIMEOUT"
        # Both pool threads are still inside Hangs.run(); these need others.
        quick = [await app.service.trigger(Quick) for _ in range(3)]
        for run in quick:
            done = await app.service.wait(run.id, timeout=WAIT)
            assert done.status is TaskStatus.SUCCEEDED
            assert done.output["thread"].startswith("taskloom-task")
        assert app.executor.lent == THREADS
    finally:
        Hangs.release.set()
    # Once the hung calls return, the pool lends nothing any more.
    for _ in range(500):
        if app.executor.lent == 0:
            break
        await asyncio.sleep(0.01)
    assert app.executor.lent == 0

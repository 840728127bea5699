"""A claimed batch runs in one task (server/engine/batches.py): iterations
that answer at once share it; one that waits keeps the task it started in,
and those after it go on in another, without waiting for it."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Sequence

import pytest

from taskloom.server.engine.batches import run_batch

SEEN: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="")


class Batch:
    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[object] | None] = {}
        self.done: list[str] = []
        self.handed_off: list[list[str]] = []
        self.spawned: list[asyncio.Task[None]] = []
        self.release = asyncio.Event()

    async def start(self, name: str) -> None:
        before = asyncio.current_task()
        self.tasks[name] = before
        assert SEEN.get() == ""  # nothing set by an earlier item
        SEEN.set(name)
        if name.startswith("wait"):
            await self.release.wait()
            assert asyncio.current_task() is before  # it kept its task
        self.done.append(name)

    def handoff(self, rest: Sequence[str]) -> None:
        self.handed_off.append(list(rest))
        self.spawned.append(asyncio.get_running_loop().create_task(self.run(rest)))

    async def run(self, items: Sequence[str]) -> None:
        await run_batch(items, self.start, self.handoff)


async def test_iterations_that_answer_at_once_share_one_task() -> None:
    batch = Batch()
    task = asyncio.create_task(batch.run(["a", "b", "c"]))
    await task
    assert batch.done == ["a", "b", "c"]
    assert batch.handed_off == []
    assert {batch.tasks[n] for n in "abc"} == {task}


async def test_the_iterations_after_one_that_waits_go_on_without_it() -> None:
    batch = Batch()
    task = asyncio.create_task(batch.run(["a", "wait", "b", "c"]))
    await asyncio.sleep(0)  # the batch's first step: "a", then "wait" waits
    await batch.spawned[0]
    assert batch.done == ["a", "b", "c"]
    assert batch.handed_off == [["b", "c"]]
    assert not task.done()  # still with "wait"
    assert batch.tasks["wait"] is task and batch.tasks["b"] is batch.spawned[0]
    batch.release.set()
    await task
    assert batch.done == ["a", "b", "c", "wait"]


async def test_a_cancelled_batch_task_cancels_the_iteration_it_waits_with() -> None:
    cancelled: list[str] = []

    async def start(name: str) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(name)
            raise

    rest: list[Sequence[str]] = []
    task = asyncio.create_task(run_batch(["x", "y"], start, rest.append))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == ["x"]
    assert rest == [["y"]]


async def test_values_and_exceptions_reach_the_waiting_iteration() -> None:
    got: list[object] = []

    async def start(name: str) -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, 7)
        got.append(await future)
        failing: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(failing.set_exception, ValueError("no"))
        try:
            await failing
        except ValueError as exc:
            got.append(str(exc))

    await run_batch(["x"], start, lambda rest: None)
    assert got == [7, "no"]


async def test_an_iteration_that_raises_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done: list[str] = []

    async def start(name: str) -> None:
        if name == "bad":
            raise RuntimeError("a bug")
        done.append(name)

    await run_batch(["a", "bad", "b"], start, lambda rest: None)
    assert done == ["a", "b"]
    assert "outside its error handling" in caplog.text

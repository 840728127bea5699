"""Iteration deadlines: one timer per 10 ms slot cancels what is late."""

from __future__ import annotations

import asyncio
import contextlib

from taskloom.server.engine.deadlines import SLOT, Deadlines


async def _forever() -> None:
    await asyncio.Event().wait()


async def test_a_task_past_its_deadline_is_cancelled_and_marked_expired() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(_forever())
    started = loop.time()  # before the deadline is set: a busy machine only adds time
    watch = deadlines.watch(task, started + 0.02)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert watch.expired
    assert task.cancelled()
    assert loop.time() - started >= 0.02, "cancelled before its deadline"


async def test_a_task_done_before_its_deadline_is_left_alone() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    late = asyncio.create_task(_forever())
    early = asyncio.create_task(_forever())
    # Same slot: one timer serves both.
    deadline = loop.time() + 0.02
    early_watch = deadlines.watch(early, deadline)
    late_watch = deadlines.watch(late, deadline)
    deadlines.done(early_watch)
    with contextlib.suppress(asyncio.CancelledError):
        await late
    assert late_watch.expired and late.cancelled()
    assert not early_watch.expired and not early.done()
    early.cancel()


async def test_deadlines_in_the_same_slot_share_one_timer() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    before = len(loop._scheduled)  # type: ignore[attr-defined]
    deadline = (int(loop.time() / SLOT) + 100) * SLOT + SLOT / 2
    tasks = [asyncio.create_task(_forever()) for _ in range(50)]
    watches = [deadlines.watch(task, deadline) for task in tasks]
    assert len(loop._scheduled) == before + 1  # type: ignore[attr-defined]
    for watch in watches:
        deadlines.done(watch)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_emptied_slots_give_back_their_timers_but_the_newest() -> None:
    deadlines = Deadlines()
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(_forever())
    base = (int(loop.time() / SLOT) + 100) * SLOT + SLOT / 2
    # Iterations in 20 successive slots, each done before its deadline:
    # half of them before the next slot is armed, half after.
    for i in range(10):
        deadlines.done(deadlines.watch(task, base + i * SLOT))
    watches = [deadlines.watch(task, base + i * SLOT) for i in range(10, 20)]
    for watch in watches:
        deadlines.done(watch)
    armed = [
        handle
        for handle in loop._scheduled  # type: ignore[attr-defined]
        if not handle.cancelled() and handle._callback == deadlines._expire
    ]
    assert len(armed) == 1  # only the newest slot's timer is left
    assert len(deadlines._slots) == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

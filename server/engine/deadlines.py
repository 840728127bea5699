"""Iteration time budgets, enforced with one timer per 10 ms of deadlines.

A claimed batch starts hundreds of iterations in one tick with the same
budget; `asyncio.timeout` per iteration would arm (and cancel) one timer
each. Here iterations whose deadlines fall in the same 10 ms slot share a
timer (at most 100 a second), so most of them only join and leave a set. When a slot's timer
fires, each iteration still in it is marked expired and its task cancelled;
the iteration runner turns that cancellation into a TIMEOUT error.
"""

from __future__ import annotations

import asyncio
import math

SLOT = 0.01  # seconds: how late a timeout may fire


class Watch:
    """One iteration under a deadline; `expired` once its time ran out."""

    __slots__ = ("expired", "slot", "task")

    def __init__(self, task: asyncio.Task[object], slot: int) -> None:
        self.task = task
        self.slot = slot
        self.expired = False


class _Slot:
    __slots__ = ("watches",)

    def __init__(self) -> None:
        self.watches: set[Watch] = set()


class Deadlines:
    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}

    def watch(self, task: asyncio.Task[object], deadline: float) -> Watch:
        """Cancels `task` once the loop's clock passes `deadline` (within
        SLOT), unless `done(watch)` comes first."""
        key = math.ceil(deadline / SLOT)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
            asyncio.get_running_loop().call_at(key * SLOT, self._expire, key)
        watch = Watch(task, key)
        slot.watches.add(watch)
        return watch

    def done(self, watch: Watch) -> None:
        # An emptied slot keeps its timer: the next iteration started in the
        # same 10 ms joins it instead of arming another.
        slot = self._slots.get(watch.slot)
        if slot is not None:
            slot.watches.discard(watch)

    def _expire(self, key: int) -> None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        for watch in slot.watches:
            watch.expired = True
            watch.task.cancel()

"""Iteration time budgets, enforced with one timer per 10 ms of deadlines.

A claimed batch starts hundreds of iterations in one tick with the same
budget; `asyncio.timeout` per iteration would arm (and cancel) one timer
each. Here iterations whose deadlines fall in the same 10 ms slot share a
timer (at most 100 a second), so most of them only join and leave a set.
When a slot's timer fires, each iteration still in it is marked expired and
its task cancelled; the iteration runner turns that cancellation into a
TIMEOUT error. A slot that empties is dropped with its timer, unless it is
the newest (the one the next iterations may join): with the default 300 s
budget, kept empty slots would pile up to 30,000 under steady load.
"""

from __future__ import annotations

import asyncio
import contextvars
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
    __slots__ = ("timer", "watches")

    def __init__(self, timer: asyncio.TimerHandle) -> None:
        self.timer = timer
        self.watches: set[Watch] = set()


# The timers run in an empty context: a slot's timer would otherwise keep a
# copy of the context of the iteration that armed it.
_NO_CONTEXT = contextvars.Context()


class Deadlines:
    def __init__(self) -> None:
        self._slots: dict[int, _Slot] = {}
        self._newest = 0

    def watch(self, task: asyncio.Task[object], deadline: float) -> Watch:
        """Cancels `task` once the loop's clock passes `deadline` (within
        SLOT), unless `done(watch)` comes first."""
        key = math.ceil(deadline / SLOT)
        slot = self._slots.get(key)
        if slot is None:
            loop = asyncio.get_running_loop()
            timer = loop.call_at(key * SLOT, self._expire, key, context=_NO_CONTEXT)
            slot = self._slots[key] = _Slot(timer)
            if key > self._newest:
                newest, self._newest = self._newest, key
                self._drop_if_empty(newest)  # no longer the one to join
        watch = Watch(task, key)
        slot.watches.add(watch)
        return watch

    def done(self, watch: Watch) -> None:
        slot = self._slots.get(watch.slot)
        if slot is None:
            return
        slot.watches.discard(watch)
        # The newest slot keeps its timer even when empty: the next
        # iteration started in the same 10 ms joins it instead of arming one.
        if watch.slot != self._newest:
            self._drop_if_empty(watch.slot)

    def _drop_if_empty(self, key: int) -> None:
        slot = self._slots.get(key)
        if slot is not None and not slot.watches:
            del self._slots[key]
            slot.timer.cancel()

    def _expire(self, key: int) -> None:
        slot = self._slots.pop(key, None)
        if slot is None:
            return
        for watch in slot.watches:
            watch.expired = True
            watch.task.cancel()

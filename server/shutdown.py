"""A bounded shutdown: `Taskloom.stop()` runs its phases (webhook sender,
scheduler, worker, event bridge, database) one after another, each within
a bound, so that stop() always ends, whatever a phase waits for.

A phase runs in a task of its own and is waited for with `asyncio.wait`,
not `asyncio.wait_for`: on Python 3.11 `wait_for` waits for the task it
cancels to end, so a task that does not end on cancellation (task code that
swallows CancelledError, a future nothing will complete) would hold it for
good. A phase past its bound is asked to stop (cancelled), never awaited
again, and reported in one error line naming it (the stacks of the tasks
still running at debug level); the next phase runs all the same. A phase
that fails is logged and the next one runs too.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("taskloom")


class Shutdown:
    """The phases of one stop(), and the names of those it abandoned."""

    def __init__(self) -> None:
        self.abandoned: list[str] = []

    async def phase(self, name: str, stop: Callable[[], Awaitable[None]], seconds: float) -> bool:
        """Runs `stop()` for at most `seconds`; True if it ended cleanly."""
        task = asyncio.ensure_future(stop())
        try:
            await asyncio.wait({task}, timeout=seconds)
        except asyncio.CancelledError:  # stop() itself was cancelled
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            task.add_done_callback(_forget)
            self.abandoned.append(name)
            log.error(
                "shutdown: the %s did not stop within %g s; abandoned, the shutdown goes on",
                name,
                seconds,
            )
            if log.isEnabledFor(logging.DEBUG):
                log.debug("shutdown: tasks running when the %s was abandoned:\n%s", name, stacks())
            return False
        if task.cancelled():
            log.error("shutdown: stopping the %s was cancelled; the shutdown goes on", name)
            return False
        error = task.exception()
        if error is not None:
            log.error(
                "shutdown: stopping the %s failed; the shutdown goes on", name, exc_info=error
            )
            return False
        return True


def stacks() -> str:
    """The stack of every task of the running loop but the caller's."""
    out = io.StringIO()
    current = asyncio.current_task()
    for task in asyncio.all_tasks():
        if task is not current:
            task.print_stack(file=out)
    return out.getvalue()


def _forget(task: asyncio.Future[None]) -> None:
    """An abandoned phase that ends later: its error was reported already
    (it was abandoned), so it must not be logged again as never retrieved."""
    if not task.cancelled():
        task.exception()

"""Live streams over the event hub: a run's changes and a run's new logs.

Events only say "something changed"; each stream re-reads the store, so a
subscriber that lost events (a slow one, or changes made by another process,
picked up by the periodic re-read) still sees the latest committed state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from taskloom.server.events import Subscription
from taskloom.server.views import LogView, RunView

if TYPE_CHECKING:
    from taskloom.server.service import TaskService

POLL_SECONDS = 1.0


def _fingerprint(run: RunView) -> tuple[Any, ...]:
    return (
        run.status,
        run.requested,
        run.iterations,
        run.attempt,
        run.progress,
        run.status_message,
        run.priority,
        run.updated_at,
    )


async def watch_run(
    service: TaskService, run_id: str, poll: float = POLL_SECONDS
) -> AsyncGenerator[RunView, None]:
    """Yields the run now, then after every change; ends after a terminal
    status. Raises NotFound for an unknown run."""
    subscription = service.hub.subscribe("run", run_id)
    try:
        run = await service.get(run_id)
        yield run
        while not run.has_ended:
            await _next(poll, subscription)
            latest = await service.find(run_id)
            if latest is None:  # deleted meanwhile
                return
            if _fingerprint(latest) != _fingerprint(run):
                run = latest
                yield run
    finally:
        subscription.close()


async def follow_logs(
    service: TaskService, run_id: str, poll: float = POLL_SECONDS
) -> AsyncGenerator[LogView, None]:
    """Yields each log line the run writes from now on, in order; ends once
    the run has ended and its last lines were delivered."""
    await service.get(run_id)
    # The cursor first, then the events: a line written in between is after
    # the cursor, so the first read below still delivers it.
    cursor = await service.last_log_cursor(run_id)
    subscription = service.hub.subscribe("log", run_id)
    runs = service.hub.subscribe("run", run_id)
    try:
        ended = False
        while not ended:
            run = await service.find(run_id)
            ended = run is None or run.has_ended  # deleted meanwhile: end too
            while True:
                page = await service.logs(run_id, first=500, after=cursor)
                for line in page.items:
                    yield line
                cursor = page.end_cursor or cursor
                if not page.has_next:
                    break
            if not ended:
                await _next(poll, subscription, runs)
    finally:
        subscription.close()
        runs.close()


async def _next(timeout: float, *subscriptions: Subscription) -> None:
    """Waits until any subscription has an event (or the timeout), then
    empties them all: the caller re-reads the store anyway."""
    if all(s.queue.empty() for s in subscriptions):
        waiters = [asyncio.ensure_future(s.queue.get()) for s in subscriptions]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
    for s in subscriptions:
        while not s.queue.empty():
            s.queue.get_nowait()

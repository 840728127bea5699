"""Live streams over the event hub: a run's changes and a run's new logs.

Events only say "something changed"; each stream re-reads the store, so a
subscriber that lost events (a slow one, or changes made by another process,
picked up by the periodic re-read) still sees the latest committed state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import LogView
from taskloom.server.events.hub import Subscription
from taskloom.server.service.reader import RunReader

if TYPE_CHECKING:
    from taskloom.server.auth.identity import Actor

POLL_SECONDS = 1.0


def fingerprint(run: RunView) -> tuple[Any, ...]:
    return (
        run.status,
        run.waiting,
        run.worker_id,
        run.requested,
        run.iterations,
        run.attempt,
        run.progress,
        run.status_message,
        run.priority,
        run.updated_at,
    )


async def watch_run(
    reader: RunReader, run_id: str, actor: Actor | None, poll: float = POLL_SECONDS
) -> AsyncGenerator[RunView, None]:
    """Yields the run now, then after every change; ends after a terminal
    status. Raises NotFound for an unknown run."""
    subscription = reader.hub.subscribe("run", run_id)
    try:
        run = await reader.get(run_id, actor)
        yield run
        while not run.has_ended:
            await _next(poll, subscription)
            latest = await reader.find(run_id, actor)
            if latest is None:  # deleted meanwhile
                return
            if fingerprint(latest) != fingerprint(run):
                run = latest
                yield run
    finally:
        subscription.close()


async def follow_logs(
    reader: RunReader, run_id: str, actor: Actor | None, poll: float = POLL_SECONDS
) -> AsyncGenerator[LogView, None]:
    """Yields each log line the run writes from now on, in order; ends once
    the run has ended and its last lines were delivered."""
    await reader.get(run_id, actor)
    # The cursor first, then the events: a line written in between is after
    # the cursor, so the first read below still delivers it.
    cursor = await reader.last_log_cursor(run_id)
    subscription = reader.hub.subscribe("log", run_id)
    runs = reader.hub.subscribe("run", run_id)
    try:
        ended = False
        while not ended:
            run = await reader.find(run_id, actor)
            ended = run is None or run.has_ended  # deleted meanwhile: end too
            while True:
                page = await reader.logs(run_id, None, 500, cursor, actor)
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

"""Wakes this process's worker when another process commits to the same
SQLite file.

SQLite has no notification channel like PostgreSQL's LISTEN/NOTIFY, so a
run triggered by `taskloom serve` used to wait for a separate `taskloom
worker`'s poll (a second by default). `PRAGMA data_version` changes whenever
a connection other than the one asking has committed, and reading it costs
microseconds: it looks at SQLite's shared-memory WAL index, with no file
read and no lock held. One task per process reads it every WATCH_SECONDS
and, on a change, tells the hub that runs may be due; the worker then
claims, and finds nothing when the commit was not a new run (this process's
own commits change it too). Between commits the task costs one PRAGMA per
tick and no write; in a process with no worker it ticks once a second. The
counter is the SQLite adapter's (server/store/sqlite/data_version.py).
"""

from __future__ import annotations

import asyncio
import contextlib

from taskloom.server.events.hub import EventHub
from taskloom.server.store.database import CommitCounter

WATCH_SECONDS = 0.02
IDLE_SECONDS = 1.0  # with nothing in this process to wake


class CommitWatch:
    def __init__(
        self, counter: CommitCounter, hub: EventHub, interval: float = WATCH_SECONDS
    ) -> None:
        self.counter = counter
        self.hub = hub
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            # Read at once: a commit made before the first tick counts.
            watch = self._watch(self.counter.read())
            self._task = asyncio.create_task(watch, name="taskloom-commit-watch")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.counter.close()

    async def _watch(self, seen: int | None) -> None:
        while True:
            await asyncio.sleep(self.interval if self.hub.wants_due else IDLE_SECONDS)
            version = self.counter.read()
            if version is None:  # busy (a WAL restart): the next tick reads it
                continue
            if seen is not None and version != seen:
                self.hub.receive_due()
            seen = version

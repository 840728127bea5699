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
tick and no write; in a process with no worker it ticks once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

from taskloom.server.events import EventHub

log = logging.getLogger("taskloom.store")

WATCH_SECONDS = 0.02
IDLE_SECONDS = 1.0  # with nothing in this process to wake


class CommitWatch:
    def __init__(self, path: str, hub: EventHub, interval: float = WATCH_SECONDS) -> None:
        self.path = path
        self.hub = hub
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None

    def start(self) -> None:
        if self._task is None:
            # On the event loop's thread: opening the file and its PRAGMAs
            # take microseconds and, with busy_timeout 0, never wait for a
            # lock. Read at once: a commit made before the first tick counts.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=0")
            self._conn = conn
            watch = self._watch(conn, self._version(conn))
            self._task = asyncio.create_task(watch, name="taskloom-commit-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def _watch(self, conn: sqlite3.Connection, seen: int | None) -> None:
        while True:
            await asyncio.sleep(self.interval if self.hub.wants_due else IDLE_SECONDS)
            version = self._version(conn)
            if version is None:
                continue
            if seen is not None and version != seen:
                self.hub.receive_due()
            seen = version

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int | None:
        try:
            version: int = conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error as exc:  # busy (a WAL restart): the next tick reads it
            log.debug("commit watch: %s", exc)
            return None
        return version

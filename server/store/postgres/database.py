"""PostgreSQL through asyncpg: the adapter behind the store's interface,
one async writer task.

Writes queued together are applied in one transaction on one connection
(group commit), exactly as the SQLite writer does; reads use the pool, sized
from `Settings.pool_size`. Many processes on many machines share the
database: claims take rows with `FOR UPDATE SKIP LOCKED` (server/store/
claims.py), times that leases and rescue compare come from the database's
clock (`clock()`), and events travel between processes over LISTEN/NOTIFY
(channels.py, used by server/events/pg_bridge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from taskloom.server.store.database import Database, Listening
from taskloom.server.store.group_commit import Settled, WriteOp, commit_together, settle
from taskloom.server.store.postgres import faults
from taskloom.server.store.postgres.channels import ChannelListener, Notify
from taskloom.server.store.postgres.nul_text import replace_nul

log = logging.getLogger("taskloom.store")

Job = tuple[WriteOp[Any], asyncio.Future[Any]]
MAX_BATCH = 2_000
# Deadlocks and serialization failures are retried: the transaction that
# lost did nothing, and its operations are safe to apply again.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
RETRY_ATTEMPTS = 5
CLOCK_SAMPLES = 3
CLOCK_REFRESH_SECONDS = 60.0
_DB_NOW = text("SELECT extract(epoch FROM clock_timestamp())::float8")


def _retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    return getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_recycle=1800,
        )
        event.listen(self.engine.sync_engine, "before_cursor_execute", replace_nul, retval=True)
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._offset = 0.0
        # This machine's clock; the offset turns it into the database's.
        self.wall_clock: Callable[[], float] = time.time

    async def start(self) -> None:
        if self._task is None:
            await self.sync_clock()
            self._task = asyncio.create_task(self._serve(), name="taskloom-writer")
            self._clock_task = asyncio.create_task(self._keep_clock(), name="taskloom-clock")

    async def close(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock_task
            self._clock_task = None
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        await self.engine.dispose()

    async def listen(
        self, channel: str, on_message: Callable[[str], None], on_reconnect: Callable[[], None]
    ) -> Listening:
        listener = ChannelListener(self.engine, channel, on_message, on_reconnect)
        await listener.start()
        return listener

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        await self.run_write(Notify(channel, payloads))

    def fault(self, exc: BaseException, action: str) -> str | None:
        return faults.explain(self.engine.url, exc, action)

    # --- the database's clock -------------------------------------------------

    def clock(self) -> float:
        return self.wall_clock() + self._offset

    async def sync_clock(self) -> None:
        """Measures how far the server's clock is from ours: the sample with
        the shortest round trip, assuming the server read its clock halfway."""
        best: tuple[float, float] | None = None
        async with self.engine.connect() as conn:
            for _ in range(CLOCK_SAMPLES):
                before = self.wall_clock()
                server = float((await conn.execute(_DB_NOW)).scalar_one())
                after = self.wall_clock()
                sample = (after - before, server - (before + after) / 2)
                if best is None or sample[0] < best[0]:
                    best = sample
        if best is not None:
            self._offset = best[1]

    async def _keep_clock(self) -> None:
        while True:
            await asyncio.sleep(CLOCK_REFRESH_SECONDS)
            try:
                await self.sync_clock()
            except Exception as exc:  # keep the last offset; try again later
                log.warning("could not read the database's clock: %s", exc)

    # --- the writer ---------------------------------------------------------

    async def write(self, op: WriteOp[Any]) -> Any:
        if self._task is None:
            raise RuntimeError("the database is not started")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, future))
        return await future

    async def _serve(self) -> None:
        while True:
            job = await self._queue.get()
            if job is None:
                return
            jobs = [job]
            stop = False
            while len(jobs) < MAX_BATCH and not self._queue.empty():
                more = self._queue.get_nowait()
                if more is None:
                    stop = True
                    break
                jobs.append(more)
            ops = [j[0] for j in jobs]
            try:
                async with self.engine.connect() as conn:
                    settled = await conn.run_sync(_apply, ops)
            except Exception as exc:  # no connection: every caller gets the error
                settled = [(False, exc)] * len(jobs)
            settle((future, answer) for (_op, future), answer in zip(jobs, settled, strict=True))
            if stop:
                return


def _apply(conn: Connection, ops: list[WriteOp[Any]]) -> list[Settled]:
    def transaction(fn: Callable[[Connection], Any]) -> Any:
        for attempt in range(RETRY_ATTEMPTS):
            try:
                with conn.begin():
                    return fn(conn)
            except DBAPIError as exc:
                if not _retryable(exc) or attempt == RETRY_ATTEMPTS - 1:
                    raise
                time.sleep(0.005 * (attempt + 1) * (1 + random.random()))
        raise AssertionError("unreachable")

    return commit_together(transaction, ops)

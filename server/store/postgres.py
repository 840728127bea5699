"""PostgreSQL through asyncpg: the same operations, one async writer task.

Writes queued together are applied in one transaction on one connection
(group commit), exactly as the SQLite writer does; reads use the pool.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from server.store.batch import WriteOp, run_batch
from server.store.database import Database

Job = tuple[WriteOp[Any], asyncio.Future[Any]]
MAX_BATCH = 2_000


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
        self._queue: asyncio.Queue[Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name="taskloom-writer")

    async def close(self) -> None:
        if self._task is not None:
            await self._queue.put(None)
            await self._task
            self._task = None
        await self.engine.dispose()

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
            async with self.engine.connect() as conn:
                outcomes = await conn.run_sync(_apply, ops)
            for (_op, future), (ok, value) in zip(jobs, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            if stop:
                return


def _apply(conn: Connection, ops: list[WriteOp[Any]]) -> list[tuple[bool, Any]]:
    def transaction(fn: Any) -> Any:
        with conn.begin():
            return fn(conn)

    return run_batch(transaction, ops)

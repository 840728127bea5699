"""The connector interface: one per database, the same for every caller.

`write` sends an operation to the process's single writer, which commits it
together with whatever else is queued (group commit); `write_inline` may
commit a single caller-facing write on the caller's thread instead, when
that cannot wait (SQLite). `read` runs a function
on a pooled connection. Driver errors never leave this package: they are
wrapped in `StoreError`.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from taskloom.definitions.errors import StoreError, TaskloomError
from taskloom.server.store.batch import FnOp, WriteOp

if TYPE_CHECKING:
    from taskloom.server.events import EventHub

T = TypeVar("T")


class Database(abc.ABC):
    dialect: str
    url: str
    engine: AsyncEngine

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, op: WriteOp[Any]) -> Any:
        """Applies `op` in a committed transaction shared with other writes."""

    def clock(self) -> float:
        """Now, in epoch seconds, by the database's clock: what leases, claims
        and rescue compare, so that processes on several machines agree.
        SQLite is on this machine, so its clock is this machine's."""
        return time.time()

    async def connect_hub(self, hub: EventHub) -> None:
        """Connects the process's event hub to other processes sharing this
        database: PostgreSQL carries every event (server/store/notify.py);
        SQLite only wakes the worker when another process committed
        (server/store/commit_watch.py), and subscriptions poll."""
        del hub

    async def start_worker_writes(self) -> None:
        """A worker is about to run in this process: a database that has a
        faster path for its writes sets it up (see SQLiteDatabase)."""
        return None

    async def write_inline(self, op: WriteOp[Any], *, pipelined: bool = False) -> Any:
        """`write` for a write that wants the shortest path to its commit
        (a trigger, an abort, a worker's claim or outcome batch). Databases that have one (see
        SQLiteDatabase) commit it on the caller's thread when that cannot
        wait on anyone; the others, and every other case, queue it to the
        writer like `write`. The caller sees the same results and errors.
        `pipelined`: the caller has other work to do while this write
        commits (a worker with runs in flight), so a database that can
        commit it elsewhere meanwhile should (SQLite's writer process)."""
        return await self.write(op)

    async def run_write(
        self, op: WriteOp[T], *, inline: bool = False, pipelined: bool = False
    ) -> T:
        """`write`, with driver errors wrapped in StoreError; `inline`:
        through `write_inline` (for the writes on someone's critical path:
        a user's single write, the worker's claims and outcome batches)."""
        try:
            write = self.write_inline(op, pipelined=pipelined) if inline else self.write(op)
            result: T = await write
            return result
        except TaskloomError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {type(exc).__name__}") from exc

    async def write_fn(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_write(FnOp(fn))

    async def read(self, fn: Callable[[Connection], T]) -> T:
        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(fn)
        except TaskloomError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database read failed: {type(exc).__name__}") from exc


def open_database(url: str, *, sqlite_synchronous: str = "NORMAL", pool_size: int = 10) -> Database:
    """The database for a URL: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
    if url.startswith("sqlite+aiosqlite:"):
        from taskloom.server.store.sqlite import SQLiteDatabase

        return SQLiteDatabase(url, synchronous=sqlite_synchronous)
    if url.startswith("postgresql+asyncpg:"):
        from taskloom.server.store.postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size)
    raise ValueError(
        "TASKLOOM_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    )

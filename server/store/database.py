"""The connector interface: one per database, the same for every caller.

`run_write` commits an operation (store/group_commit.py) the way the
database's adapter chooses: each adapter groups the writes queued together
into one transaction, and SQLite's has shorter paths for the writes someone
waits on (server/store/sqlite/). `read` runs a function on a pooled
connection. Driver errors never leave the store: they are wrapped in
`StoreError`. What a commit made (new runs) goes to `on_commit`, which the
composition root connects to the event hub. The event bridges between
processes reach the database through `listen`/`notify` (PostgreSQL) or
`commit_counter` (SQLite).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from taskloom.definitions.errors import StoreError, TaskloomError
from taskloom.server.store.committed import OnCommit
from taskloom.server.store.group_commit import FnOp, WriteOp

T = TypeVar("T")


class Listening(Protocol):
    """A subscription to a notification channel, kept open (reconnecting)
    until closed."""

    async def close(self) -> None: ...


class CommitCounter(Protocol):
    """A number that changes whenever another connection commits."""

    def read(self) -> int | None: ...

    def close(self) -> None: ...


class Database(abc.ABC):
    dialect: str
    url: str
    engine: AsyncEngine
    # Told what each commit made (store/committed.py), on the caller's loop.
    on_commit: OnCommit | None = None

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def write(self, op: WriteOp[Any]) -> Any:
        """Applies `op` in a committed transaction (perhaps shared with
        other writes); driver errors as they are raised."""

    def clock(self) -> float:
        """Now, in epoch seconds, by the database's clock: what leases, claims
        and rescue compare, so that processes on several machines agree.
        SQLite is on this machine, so its clock is this machine's."""
        return time.time()

    async def start_worker_writes(self) -> None:
        """A worker is about to run in this process: a database that has a
        faster path for its writes sets it up (see SQLiteDatabase)."""
        return None

    async def listen(
        self, channel: str, on_message: Callable[[str], None], on_reconnect: Callable[[], None]
    ) -> Listening | None:
        """Calls `on_message` with each notification on `channel` (and
        `on_reconnect` after the connection dropped, when some may have been
        lost); None when this database has no channels."""
        del channel, on_message, on_reconnect
        return None

    async def notify(self, channel: str, payloads: Sequence[str]) -> None:
        """Sends `payloads` on `channel`, after the writes queued before."""
        raise NotImplementedError(f"{self.dialect} has no notification channels")

    def commit_counter(self) -> CommitCounter | None:
        """A counter of other connections' commits, where the database has
        one and no channels (a SQLite file)."""
        return None

    async def run_write(self, op: WriteOp[T]) -> T:
        """`write`, with driver errors wrapped in StoreError; what it
        committed then goes to `on_commit`."""
        try:
            result: T = await self.write(op)
        except TaskloomError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"database write failed: {type(exc).__name__}") from exc
        if self.on_commit is not None:
            made = op.committed(result)
            if made is not None:
                self.on_commit(made)
        return result

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

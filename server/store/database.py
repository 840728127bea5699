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
import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from taskloom.definitions.errors import StoreError, TaskloomError, Unavailable
from taskloom.server.stepping import finish
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
    # How long a caller waits for a write (WriteOp.bounded) before it gets
    # Unavailable, nothing written; None: as long as it takes.
    write_timeout: float | None = None
    # How many writes this process has asked for (run_write), committed or
    # not: what a caller that should not write while idle is held to.
    writes_asked: int = 0

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    def abandon(self) -> None:
        """close() did not end in time: ends at once what it would have
        ended gracefully (a helper process), so nothing outlives the stop."""
        return None

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

    def fault(self, exc: BaseException, action: str) -> str | None:
        """What made a read or write (`action`) fail, in one line naming the
        database and the cause ("cannot write /x/taskloom.db: read-only
        file system"), when it is the database's state, not the statement:
        then the caller gets `Unavailable`. None: another error."""
        del exc, action
        return None

    def failure(self, exc: BaseException, action: str) -> StoreError:
        """The error a caller gets for `exc`: never the driver's own."""
        reason = self.fault(exc, action)
        if reason is not None:
            return Unavailable(reason)
        return StoreError(f"database {action} failed: {type(exc).__name__}")

    async def run_write(self, op: WriteOp[T]) -> T:
        """`write`, bounded by `write_timeout` (see WriteOp.bounded), with
        driver errors wrapped in StoreError (Unavailable when the database
        could not do it now); what it committed then goes to `on_commit`."""
        self.writes_asked += 1
        try:
            result: T = await self._bounded(op)
        except TaskloomError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise self.failure(exc, "write") from exc
        if self.on_commit is not None:
            made = op.committed(result)
            if made is not None:
                self.on_commit(made)
        return result

    async def _bounded(self, op: WriteOp[T]) -> T:
        if not op.bounded or self.write_timeout is None:
            return cast(T, await self.write(op))
        # Most writes commit without waiting (the inline path): the first
        # step, taken by hand, tells, and only a write that waits is timed
        # (a timer and its cancel were a twentieth of a trigger's cost, and
        # current_task() another twentieth: on Python 3.11 it asks the
        # kernel for the pid).
        write = self.write(op)
        try:
            waiting_on = write.send(None)
        except StopIteration as done:
            return cast(T, done.value)
        task = asyncio.current_task()
        if task is None:  # not inside a task: nothing to cancel
            return cast(T, await finish(write, waiting_on))
        # A timer, not a task per write: a task each made the caller yield
        # to the worker after every trigger, so claims came one run at a
        # time. On expiry the caller is cancelled only if the writer has not
        # taken the op; a taken op commits soon, and the caller waits for it.
        expired = False

        def expire() -> None:
            nonlocal expired
            if op.abandon():
                expired = True
                task.cancel()

        timer = asyncio.get_running_loop().call_later(self.write_timeout, expire)
        try:
            return cast(T, await finish(write, waiting_on))
        except asyncio.CancelledError:
            if expired and task.uncancel() == 0:
                raise Unavailable(self.busy_reason()) from None
            raise
        finally:
            timer.cancel()

    def busy_reason(self) -> str:
        """Why a write gave up after `write_timeout` seconds."""
        return (
            f"the database is busy: the write waited {self.write_timeout:g} s "
            "(TASKLOOM_WRITE_TIMEOUT) and nothing was written; try again"
        )

    async def write_fn(self, fn: Callable[[Connection], T]) -> T:
        return await self.run_write(FnOp(fn))

    async def read(self, fn: Callable[[Connection], T]) -> T:
        try:
            async with self.engine.connect() as conn:
                return await conn.run_sync(fn)
        except TaskloomError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise self.failure(exc, "read") from exc

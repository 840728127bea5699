"""SQLite: the adapter behind the store's interface, which decides how each
write is committed.

* Reads use the async engine (aiosqlite); WAL lets them run beside the
  writer.
* Writes go to the writer thread (writer_thread.py), which commits whatever
  is queued as one transaction (group commit).
* A write someone waits on (`WriteOp.urgent`) is committed on the caller's
  thread when nothing is queued and the lock is free at once (inline.py).
* While a worker runs on a database file, its claims and outcome batches,
  and this process's new runs, are committed by a writer process instead
  (writer_process.py): SQLite's work then runs beside the engine's, on the
  second core. An outcome batch always goes there, a claim while runs of
  this process are in flight (their iterations run meanwhile), a trigger
  only while the process is busy: a write alone (a trigger on an idle
  worker, the claim that wakes it) saves the hop.
* The WAL stays bounded (checkpoints.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import SingletonThreadPool

from taskloom.definitions.errors import StoreError, Unavailable
from taskloom.server.store.claims import Claim
from taskloom.server.store.database import CommitCounter, Database
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.leases import ReleaseRuns
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.store.sqlite import connections, faults
from taskloom.server.store.sqlite.checkpoints import WalKeeper
from taskloom.server.store.sqlite.data_version import DataVersion
from taskloom.server.store.sqlite.inline import InlineWriter
from taskloom.server.store.sqlite.op_scripts import script_of
from taskloom.server.store.sqlite.writer_process import ScriptFailed, WriterProcess
from taskloom.server.store.sqlite.writer_thread import LOCK_RETRY_SECONDS, WriterThread

log = logging.getLogger("taskloom.store")
T = TypeVar("T")
# Levels at which a commit does not fsync, so it may run on the event loop.
INLINE_SYNCHRONOUS = frozenset({"OFF", "NORMAL"})


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        synchronous = synchronous.upper()
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        event.listen(
            self.engine.sync_engine, "connect", connections.pragmas(synchronous, busy_timeout_ms)
        )
        event.listen(self.engine.sync_engine, "begin", connections.begin_deferred)
        writer_engine: Engine = create_engine(
            connections.sync_url(url), poolclass=SingletonThreadPool
        )
        writer_pragmas = connections.pragmas(synchronous, busy_timeout_ms, writer=True)
        event.listen(writer_engine, "connect", writer_pragmas)
        event.listen(writer_engine, "begin", connections.begin_immediate)
        self._dialect = writer_engine.dialect
        path = writer_engine.url.database
        self.file = connections.file_of(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._synchronous = synchronous
        self._wal = WalKeeper(path if path and path != ":memory:" else None, busy_timeout_ms)
        self._writer = WriterThread(writer_engine, self._wal)
        self._inline = InlineWriter(url, synchronous)
        self._inline_enabled = synchronous in INLINE_SYNCHRONOUS and bool(self.file)
        self._process: WriterProcess | None = None
        # Runs this process claimed and has not finished or released: while
        # there are some, a claim goes to the writer process.
        self._in_flight: set[str] = set()

    async def start(self) -> None:
        if not self._writer.started:
            self._writer.start()
            self._wal.start()

    async def start_worker_writes(self) -> None:
        """The worker's claims and outcomes (and this process's new runs)
        go to a writer process from now on, on a database file."""
        if self.file is None or self._process is not None:
            return
        pragmas = connections.pragma_list(self._synchronous, self._busy_timeout_ms, writer=True)
        process = WriterProcess(self.file, pragmas)
        await process.start()
        self._process = process

    def fault(self, exc: BaseException, action: str) -> str | None:
        return faults.explain(self.file, exc, action)

    def commit_counter(self) -> CommitCounter | None:
        return DataVersion(self.file) if self.file is not None else None

    async def close(self) -> None:
        if self._process is not None:
            await self._process.close()
            self._process = None
        await self._writer.stop()
        await asyncio.to_thread(self._wal.stop)
        await self._inline.close()
        self._writer.engine.dispose()
        await self.engine.dispose()

    def abandon(self) -> None:
        if self._process is not None:
            self._process.kill()

    @property
    def writer_pid(self) -> int | None:
        """The writer process's id while it runs (for an operator's `ps`)."""
        return self._process.pid if self._process is not None else None

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """A read on a pooled connection, retried with backoff while another
        process holds a lock beyond busy_timeout (WAL recovery, a
        checkpoint), so "database is locked" never reaches a caller."""
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.01
        while True:
            try:
                return await super().read(fn)
            except StoreError as exc:
                cause = exc.__cause__ or exc
                if not connections.is_locked(cause) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    async def write(self, op: WriteOp[Any]) -> Any:
        """Commits `op` on the shortest path open to it (see the module's
        docstring); the caller sees the same results and errors on each."""
        if self._wal.lost is not None:  # checkpoints.py: the WAL was deleted
            raise Unavailable(self._wal.lost)
        result = await self._commit(op)
        if isinstance(op, Claim):
            self._in_flight.update(row["id"] for row in result)
        elif isinstance(op, FinishIterations):
            self._in_flight.difference_update(o.run_id for o in op.outcomes)
        elif isinstance(op, ReleaseRuns):
            self._in_flight.difference_update(op.run_ids)
        return result

    async def queue(self, op: WriteOp[Any]) -> Any:
        """`op`, committed by the writer thread with whatever else is queued."""
        return await self._writer.write(op)

    async def _commit(self, op: WriteOp[Any]) -> Any:
        if not op.urgent:
            return await self.queue(op)
        restarting = self._wal.restart_due.is_set()  # let the writer thread restart the WAL
        process = self._process
        if process is not None and process.alive and not restarting:
            pipelined = isinstance(op, FinishIterations) or (
                isinstance(op, Claim) and bool(self._in_flight)
            )
            if (pipelined or process.busy) and process.loop is asyncio.get_running_loop():
                scripted = script_of(op, self._dialect)
                if scripted is not None:
                    if op.bounded and not op.take():
                        return None  # its caller gave up
                    script, read = scripted
                    try:
                        committed, results = await process.run(script)
                    except ScriptFailed as exc:
                        # Nothing written (or, the process gone, perhaps all):
                        # this process's path reports what it finds.
                        op.untake()
                        log.debug("the writer process did not commit a script: %s", exc)
                    else:
                        if committed:
                            self._wal.count_commit()
                            return read(results)
        if self._inline_enabled and self._writer.started and self._writer.idle and not restarting:
            settled = self._inline.try_write(op)
            if settled is not None:
                ok, value = settled
                if ok:
                    self._wal.count_commit()
                    return value
                raise value
        return await self.queue(op)

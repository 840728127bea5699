"""SQLite: one writer thread on the stdlib driver, readers on aiosqlite.

Writes of the process go through one thread that holds one connection and
commits whatever is queued as one transaction (`BEGIN IMMEDIATE`), so
callers that arrive together share a commit. Reads use the async engine
(aiosqlite) and WAL lets them run beside the writer.

A write that wants the shortest path (`write_inline`: a trigger, an abort,
and the worker's claims and outcome batches) skips the hop to that thread
when nothing is queued: it is committed on the caller's thread, on a second
connection whose `busy_timeout` is 0, so its `BEGIN IMMEDIATE` either gets
the write lock at once or fails at once ("database is locked": the writer
thread or another process is writing), and then the write is queued as
usual. The event loop never waits on a lock; it is busy for the length of
the write (a batch of 256 outcomes: a few milliseconds), as it was waiting
for the writer thread's answer before. Only with `synchronous` NORMAL or
OFF, where a commit does not fsync.

While a worker runs on a database file, its claims and outcome batches,
and this process's new runs, are committed by a writer process instead
(server/store/writer_process.py): SQLite's work then runs beside the
engine's, on the second core. The other writes keep the paths above.

The WAL stays bounded: a PASSIVE checkpoint never catches up with writes
that never pause, so SQLite never starts the WAL over. When it holds more
than WAL_RESTART_BYTES, the writer thread runs a RESTART checkpoint between
two batches (inline writes queue meanwhile), and `journal_size_limit`
truncates the file back to that size when the WAL starts over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from taskloom.definitions.errors import StoreError
from taskloom.server.events import EventHub
from taskloom.server.store.batch import WriteOp, apply_grouped, run_batch
from taskloom.server.store.commit_watch import CommitWatch
from taskloom.server.store.database import Database
from taskloom.server.store.writer_process import ScriptFailed, WriterProcess

log = logging.getLogger("taskloom.store")
T = TypeVar("T")
Job = tuple[WriteOp[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]
MAX_BATCH = 2_000
CHECKPOINT_EVERY = 200  # commits
CHECKPOINT_SECONDS = 1.0
LOCK_RETRY_SECONDS = 30.0
# When the WAL holds more than this, the writer thread restarts it (see
# SQLiteDatabase._restart_wal); also the size a restarted WAL file is cut to.
WAL_RESTART_BYTES = 64 * 1024 * 1024
# How long a restart waits for readers still on the WAL, writes held up
# meanwhile; beyond it the restart gives up and is tried again after a pause
# that doubles up to WAL_RESTART_BACKOFF_MAX (a long reader costs writes little).
WAL_RESTART_WAIT_MS = 200
WAL_RESTART_BACKOFF_MAX = 10.0
# Levels at which a commit does not fsync, so it may run on the event loop.
INLINE_SYNCHRONOUS = frozenset({"OFF", "NORMAL"})


def _pragma_list(synchronous: str, busy_timeout_ms: int, *, writer: bool = False) -> list[str]:
    # busy_timeout first: switching a new file to WAL takes a lock that
    # another process starting at the same moment may hold.
    pragmas = [
        f"busy_timeout={int(busy_timeout_ms)}",
        "journal_mode=WAL",
        "foreign_keys=ON",
        f"synchronous={synchronous}",
    ]
    if writer:
        pragmas += [
            # The checkpointer thread copies the WAL into the database (and
            # fsyncs) off the writer's path; see SQLiteDatabase._checkpoints.
            "wal_autocheckpoint=0",
            # The connection whose commit starts the WAL over cuts the file.
            f"journal_size_limit={int(WAL_RESTART_BYTES)}",
            "temp_store=MEMORY",
        ]
    return pragmas


def _pragmas(
    synchronous: str, busy_timeout_ms: int, *, writer: bool = False
) -> Callable[[Any, Any], None]:
    pragmas = _pragma_list(synchronous, busy_timeout_ms, writer=writer)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return on_connect


def _sync_url(url: str) -> str:
    return url.replace("sqlite+aiosqlite:", "sqlite+pysqlite:", 1)


def _is_locked(exc: BaseException) -> bool:
    cause = getattr(exc, "orig", exc)
    return isinstance(cause, sqlite3.OperationalError) and "locked" in str(cause)


class SQLiteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000):
        if synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"unknown SQLite synchronous level {synchronous!r}")
        on_connect = _pragmas(synchronous.upper(), busy_timeout_ms)
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url)
        event.listen(self.engine.sync_engine, "connect", on_connect)
        event.listen(self.engine.sync_engine, "begin", self._begin_deferred)
        self._writer_engine: Engine = create_engine(_sync_url(url), poolclass=_single_pool())
        writer_pragmas = _pragmas(synchronous.upper(), busy_timeout_ms, writer=True)
        event.listen(self._writer_engine, "connect", writer_pragmas)
        event.listen(self._writer_engine, "begin", self._begin_immediate)
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._busy_timeout_ms = busy_timeout_ms
        self._synchronous = synchronous.upper()
        self._process: WriterProcess | None = None
        self._checkpointer: threading.Thread | None = None
        self._commits = itertools.count(1)  # next() is atomic: both paths count
        self._checkpoint_due = threading.Event()
        self._stop_checkpoints = threading.Event()
        # Set by the checkpointer when the WAL outgrew WAL_RESTART_BYTES;
        # cleared by the writer thread, which restarts the WAL.
        self._restart_due = threading.Event()
        self._restart_backoff = 0.0  # written by the writer thread only
        self._restart_not_before = 0.0
        # Held by whoever checkpoints, so a restart never meets a PASSIVE
        # checkpoint of this process (SQLite would answer "busy" at once).
        self._checkpoint_lock = threading.Lock()
        # The inline path (write_inline): its own connection, never waiting.
        path = self._writer_engine.url.database
        self._file = path if path and path != ":memory:" and not path.startswith("file:") else None
        self._inline_enabled = synchronous.upper() in INLINE_SYNCHRONOUS and bool(self._file)
        self._commit_watch: CommitWatch | None = None
        self._inline_engine: Engine = create_engine(
            _sync_url(url), poolclass=NullPool, connect_args={"check_same_thread": False}
        )
        event.listen(self._inline_engine, "connect", _pragmas(synchronous.upper(), 0, writer=True))
        self._inline_conn: Connection | None = None
        # Held only while an inline write runs, taken without waiting: event
        # loops in several threads may share this object.
        self._inline_lock = threading.Lock()

    @staticmethod
    def _begin_immediate(conn: Connection) -> None:
        # Straight to the driver: the writer begins thousands of these a second.
        conn.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]

    @staticmethod
    def _begin_deferred(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    async def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="taskloom-writer", daemon=True)
            self._thread.start()
            self._stop_checkpoints.clear()
            self._checkpointer = threading.Thread(
                target=self._checkpoints, name="taskloom-checkpoint", daemon=True
            )
            self._checkpointer.start()

    async def connect_hub(self, hub: EventHub) -> None:
        """Other processes on the same file wake this one's worker through
        the commit watch (server/store/commit_watch.py)."""
        if self._file is not None and self._commit_watch is None:
            self._commit_watch = CommitWatch(self._file, hub)
            self._commit_watch.start()

    async def start_worker_writes(self) -> None:
        """The worker's claims and outcomes (and this process's new runs)
        go to a writer process from now on (server/store/writer_process.py),
        on a database file."""
        if self._file is None or self._process is not None:
            return
        pragmas = _pragma_list(self._synchronous, self._busy_timeout_ms, writer=True)
        process = WriterProcess(self._file, pragmas)
        await process.start()
        self._process = process

    async def close(self) -> None:
        if self._commit_watch is not None:
            await self._commit_watch.stop()
            self._commit_watch = None
        if self._process is not None:
            await self._process.close()
            self._process = None
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._checkpointer is not None:
            self._stop_checkpoints.set()
            self._checkpoint_due.set()
            await asyncio.to_thread(self._checkpointer.join)
            self._checkpointer = None
        # An inline write of another thread's loop may be finishing.
        await asyncio.to_thread(self._inline_lock.acquire)
        try:
            self._drop_inline()
        finally:
            self._inline_lock.release()
        self._inline_engine.dispose()
        self._writer_engine.dispose()
        await self.engine.dispose()

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
                if not _is_locked(exc.__cause__ or exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    async def write(self, op: WriteOp[Any]) -> Any:
        if self._thread is None:
            raise RuntimeError("the database is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put((op, future, loop))
        return await future

    async def write_inline(self, op: WriteOp[Any], *, pipelined: bool = False) -> Any:
        """Commits `op` on the caller's thread when nothing is queued and the
        write lock is free at once; otherwise (or with synchronous FULL or
        EXTRA) queues it to the writer thread. With a writer process, a
        write that has a script is committed there when it is `pipelined`
        or that process is busy; a write alone (a trigger on an idle worker,
        the claim that wakes it) saves the hop. Same results and errors as
        `write`; the event loop never waits on a lock."""
        process = self._process
        if (
            process is not None
            and (pipelined or process.busy)
            and process.alive
            and not self._restart_due.is_set()
        ):
            script = op.script(self._writer_engine.dialect)
            if script is not None and process.loop is asyncio.get_running_loop():
                try:
                    committed, results = await process.run(script)
                except ScriptFailed as exc:
                    # Nothing written (or, the process gone, perhaps all):
                    # this process's path reports what it finds.
                    log.debug("the writer process did not commit a script: %s", exc)
                else:
                    if committed:
                        self._count_commit()
                        return op.from_script(results)
        if (
            self._inline_enabled
            and self._thread is not None
            and self._queue.empty()
            and not self._restart_due.is_set()  # let the writer thread restart the WAL
            and self._inline_lock.acquire(blocking=False)
        ):
            try:
                outcome = self._apply_inline(op)
            finally:
                self._inline_lock.release()
            if outcome is not None:
                ok, value = outcome
                if ok:
                    return value
                raise value
        return await self.write(op)

    def _apply_inline(self, op: WriteOp[Any]) -> tuple[bool, Any] | None:
        """(ok, result or exception) as `run_batch` gives for one op, or None
        when the write lock was not free at once: nothing was written."""
        conn = self._inline_conn
        if conn is None:
            try:
                # The PRAGMAs (WAL) may need a lock: failing, the writer copes.
                conn = self._inline_conn = self._inline_engine.connect()
            except Exception:
                return None
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute("BEGIN IMMEDIATE")  # busy_timeout=0: fails at once
        except Exception as exc:
            if not _is_locked(exc):  # not the lock: start again on a new connection
                self._drop_inline()
            return None
        try:
            # The pysqlite dialect's own BEGIN is a no-op; commit and rollback
            # end the transaction begun above.
            with conn.begin():
                value = apply_grouped(conn, [op])[0]
        except Exception as exc:
            if driver.in_transaction:  # not ended by the rollback: start afresh
                self._drop_inline()
            if _is_locked(exc):  # rolled back: the writer thread retries it
                return None
            return (False, exc)
        self._count_commit()
        return (True, value)

    def _drop_inline(self) -> None:
        conn, self._inline_conn = self._inline_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _count_commit(self) -> None:
        if next(self._commits) % CHECKPOINT_EVERY == 0:
            self._checkpoint_due.set()

    # --- the writer thread --------------------------------------------------

    def _serve(self) -> None:
        # Connected on the first batch, not at start: a connection refused
        # (the file locked beyond every retry) fails that batch's callers,
        # never the writer thread.
        conn: Connection | None = None
        try:
            while True:
                job = self._queue.get()
                if job is None:
                    return
                jobs = [job]
                stop = False
                while len(jobs) < MAX_BATCH:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stop = True
                        break
                    jobs.append(more)
                if conn is None:
                    try:
                        conn = self._connect()
                    except Exception as exc:  # still locked: these callers fail, later ones retry
                        self._resolve(jobs, [(False, exc)] * len(jobs))
                        if stop:
                            return
                        continue
                outcomes = run_batch(
                    functools.partial(self._transaction, conn), [j[0] for j in jobs]
                )
                self._resolve(jobs, outcomes)
                self._count_commit()
                if stop:
                    return
                if self._restart_due.is_set():
                    self._restart_wal(conn)
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> Connection:
        """The writer's connection; opening it runs the PRAGMAs (WAL mode),
        which wait for a lock, so it is retried like a transaction."""
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.01
        while True:
            try:
                return self._writer_engine.connect()
            except Exception as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    def _transaction(self, conn: Connection, fn: Callable[[Connection], Any]) -> Any:
        """One committed transaction, retried with backoff while another
        process holds the write lock beyond busy_timeout."""
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.01
        while True:
            try:
                with conn.begin():
                    return fn(conn)
            except Exception as exc:
                if not _is_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)

    def _restart_wal(self, conn: Connection) -> None:
        """Checkpoints the whole WAL and waits for the readers still on it, so
        the next commit writes the WAL from its start (and cuts the file to
        `journal_size_limit`). Runs between two batches, holding SQLite's
        write lock: writes of this and other processes wait for it (the
        inline path queues). If the checkpointer is busy, the next batch
        tries again; if readers stay beyond WAL_RESTART_WAIT_MS, the
        checkpointer asks again after a pause."""
        if not self._checkpoint_lock.acquire(blocking=False):
            return
        try:
            self._restart_due.clear()
            driver = conn.connection.driver_connection
            assert driver is not None
            busy = 1
            with contextlib.suppress(sqlite3.Error):
                driver.execute(f"PRAGMA busy_timeout={int(WAL_RESTART_WAIT_MS)}")
                try:
                    busy = driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
                finally:
                    driver.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            if busy:  # a reader (or another process's writer) stayed
                self._restart_backoff = min(
                    max(2 * self._restart_backoff, CHECKPOINT_SECONDS), WAL_RESTART_BACKOFF_MAX
                )
                self._restart_not_before = time.monotonic() + self._restart_backoff
            else:
                self._restart_backoff = 0.0
        finally:
            self._checkpoint_lock.release()

    def _checkpoints(self) -> None:
        """Copies the WAL back into the database file on its own connection,
        so the writer never stalls on the checkpoint's fsync. Runs every
        CHECKPOINT_EVERY commits and at least every CHECKPOINT_SECONDS, which
        keeps what `synchronous=NORMAL` may lose on power loss (the commits
        since the last checkpoint) as small as SQLite's own auto-checkpoint.
        A WAL found holding more than WAL_RESTART_BYTES is handed to the
        writer thread to restart."""
        path = self._writer_engine.url.database
        if not path or path == ":memory:":
            return
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            frame_bytes = 0
            while not self._stop_checkpoints.is_set():
                self._checkpoint_due.wait(CHECKPOINT_SECONDS)
                self._checkpoint_due.clear()
                # Busy or locked: the next round catches up.
                with contextlib.suppress(sqlite3.Error), self._checkpoint_lock:
                    if not frame_bytes:
                        frame_bytes = conn.execute("PRAGMA page_size").fetchone()[0] + 24
                    # (busy, frames in the WAL, frames checkpointed)
                    _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if (
                        frames * frame_bytes > WAL_RESTART_BYTES
                        and time.monotonic() >= self._restart_not_before
                    ):
                        self._restart_due.set()
        finally:
            conn.close()

    @staticmethod
    def _resolve(jobs: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_op, future, loop), (ok, value) in zip(jobs, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, items in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the caller's loop is closed
                loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in items:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _single_pool() -> Any:
    from sqlalchemy.pool import SingletonThreadPool

    return SingletonThreadPool

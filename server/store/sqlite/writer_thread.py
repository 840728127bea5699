"""The SQLite adapter's writer thread: one connection, group commit.

Writes of the process are queued to one thread that holds one connection
and commits whatever is queued as one transaction (`BEGIN IMMEDIATE`), so
callers that arrive together share a commit (group_commit.py). Between two
batches it restarts the WAL when the checkpointer asks (checkpoints.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from taskloom.server.store.group_commit import Settled, WriteOp, commit_together, settle
from taskloom.server.store.sqlite.checkpoints import WalKeeper
from taskloom.server.store.sqlite.connections import is_locked

Job = tuple[WriteOp[Any], asyncio.Future[Any], asyncio.AbstractEventLoop]
MAX_BATCH = 2_000
LOCK_RETRY_SECONDS = 30.0


def retry_while_locked(attempt: Callable[[], Any]) -> Any:
    """`attempt()`, retried with backoff while another process holds a lock
    beyond busy_timeout (WAL recovery, a checkpoint, its own writes)."""
    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    delay = 0.01
    while True:
        try:
            return attempt()
        except Exception as exc:
            if not is_locked(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.5)


class WriterThread:
    def __init__(self, engine: Engine, wal: WalKeeper) -> None:
        self.engine = engine
        self.wal = wal
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # Set once stop() has begun (or the thread ended): a write queued
        # behind the thread's end would wait for good, so none is queued.
        self._closed = False
        self._queueing = threading.Lock()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def idle(self) -> bool:
        """Whether nothing is queued."""
        return self._queue.empty()

    def start(self) -> None:
        if self._thread is None:
            self._closed = False
            self._thread = threading.Thread(target=self._serve, name="taskloom-writer", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Commits what is queued, then ends the thread."""
        if self._thread is not None:
            with self._queueing:
                self._closed = True
                self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    async def write(self, op: WriteOp[Any]) -> Any:
        if self._thread is None:
            raise RuntimeError("the database is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._queueing:
            if self._closed:
                raise RuntimeError("the database is closed")
            self._queue.put((op, future, loop))
        return await future

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
                        # Its PRAGMAs (WAL mode) wait for a lock too.
                        conn = retry_while_locked(self.engine.connect)
                    except Exception as exc:  # still locked: these callers fail, later ones retry
                        _resolve(jobs, [(False, exc)] * len(jobs))
                        if stop:
                            return
                        continue
                settled = commit_together(
                    functools.partial(self._transaction, conn), [j[0] for j in jobs]
                )
                _resolve(jobs, settled)
                self.wal.count_commit()
                if stop:
                    return
                if self.wal.restart_due.is_set():
                    self.wal.restart_wal(conn)
        finally:
            if conn is not None:
                conn.close()
            self._refuse_the_rest()

    def _refuse_the_rest(self) -> None:
        """Fails what is still queued as the thread ends: nothing once
        stop() has begun, unless the thread itself failed."""
        with self._queueing:
            self._closed = True
        left: list[Job] = []
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if job is not None:
                left.append(job)
        if left:
            _resolve(left, [(False, RuntimeError("the database is closed"))] * len(left))

    @staticmethod
    def _transaction(conn: Connection, fn: Callable[[Connection], Any]) -> Any:
        """One committed transaction, retried while another process holds
        the write lock beyond busy_timeout."""

        def attempt() -> Any:
            with conn.begin():
                return fn(conn)

        return retry_while_locked(attempt)


def _resolve(jobs: list[Job], settled: list[Settled]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Settled]]] = {}
    for (_op, future, loop), answer in zip(jobs, settled, strict=True):
        by_loop.setdefault(loop, []).append((future, answer))
    for loop, answers in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the caller's loop is closed
            loop.call_soon_threadsafe(settle, answers)

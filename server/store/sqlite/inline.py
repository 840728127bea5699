"""The SQLite adapter's shortest path: a write committed on the caller's
thread, when that cannot wait on anyone.

A write someone waits on (`WriteOp.urgent`: a trigger, an abort, the
worker's claims and outcome batches) skips the hop to the writer thread
when nothing is queued: it is committed here, on a second connection whose
`busy_timeout` is 0, so its `BEGIN IMMEDIATE` either gets the write lock at
once or fails at once ("database is locked": the writer thread or another
process is writing), and then the write is queued as usual. The event loop
never waits on a lock; it is busy for the length of the write (a batch of
256 outcomes: a few milliseconds), as it was waiting for the writer
thread's answer before. Only with `synchronous` NORMAL or OFF, where a
commit does not fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.pool import NullPool

from taskloom.server.store.group_commit import Settled, WriteOp, apply_grouped
from taskloom.server.store.sqlite.connections import is_locked, pragmas, sync_url


class InlineWriter:
    def __init__(self, url: str, synchronous: str) -> None:
        self._engine = create_engine(
            sync_url(url), poolclass=NullPool, connect_args={"check_same_thread": False}
        )
        event.listen(self._engine, "connect", pragmas(synchronous, 0, writer=True))
        self._conn: Connection | None = None
        # Held only while a write runs, taken without waiting: event loops
        # in several threads may share this object.
        self._lock = threading.Lock()

    def try_write(self, op: WriteOp[Any]) -> Settled | None:
        """(ok, result or exception) as the writer thread gives for `op`, or
        None when the write lock was not free at once: nothing was written."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            return self._apply(op)
        finally:
            self._lock.release()

    def _apply(self, op: WriteOp[Any]) -> Settled | None:
        conn = self._conn
        if conn is None:
            try:
                # The PRAGMAs (WAL) may need a lock: failing, the writer copes.
                conn = self._conn = self._engine.connect()
            except Exception:
                return None
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            driver.execute("BEGIN IMMEDIATE")  # busy_timeout=0: fails at once
        except Exception as exc:
            if not is_locked(exc):  # not the lock: start again on a new connection
                self._drop()
            return None
        try:
            # The pysqlite dialect's own BEGIN is a no-op; commit and rollback
            # end the transaction begun above.
            with conn.begin():
                value = apply_grouped(conn, [op])[0]
        except Exception as exc:
            if driver.in_transaction:  # not ended by the rollback: start afresh
                self._drop()
            if is_locked(exc):  # rolled back: the writer thread retries it
                return None
            return (False, exc)
        return (True, value)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    async def close(self) -> None:
        # A write of another thread's loop may be finishing.
        await asyncio.to_thread(self._lock.acquire)
        try:
            self._drop()
        finally:
            self._lock.release()
        self._engine.dispose()

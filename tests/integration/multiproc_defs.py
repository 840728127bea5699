"""Definitions for the multi-process test, loaded by `taskloom worker`
subprocesses through TASKLOOM_DEFINITIONS.

Each iteration records a side effect in `mp_effects`, keyed by (run_id,
iteration, attempt) with a unique constraint, in the same database the
workers use. An iteration executed twice in the same attempt hits the
constraint: it is then written to `mp_duplicates` (no constraint) and the
iteration fails, so the test sees it both ways.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from typing import Any

from taskloom.definitions import TaskController, TaskDefinition, register

ITERATIONS = 2

EFFECTS_DDL = (
    "CREATE TABLE mp_effects (run_id VARCHAR(36) NOT NULL, iteration INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, pid INTEGER NOT NULL, PRIMARY KEY (run_id, iteration, attempt))"
)
DUPLICATES_DDL = (
    "CREATE TABLE mp_duplicates (run_id VARCHAR(36) NOT NULL, iteration INTEGER NOT NULL,"
    " attempt INTEGER NOT NULL, pid INTEGER NOT NULL)"
)


class DuplicateExecution(Exception):
    pass


async def _no_reset(_conn: Any) -> None:
    """Single autocommit statements leave no session state to reset."""


class _Recorder:
    """One per process: an asyncpg pool on PostgreSQL, a connection per
    thread on SQLite (its inserts run in threads, beside the event loop)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()
        self._local = threading.local()

    async def record(self, run_id: str, iteration: int, attempt: int) -> None:
        if self.url.startswith("postgresql"):
            await self._record_pg(run_id, iteration, attempt)
        else:
            await asyncio.to_thread(self._record_sqlite, run_id, iteration, attempt)

    async def _record_pg(self, run_id: str, iteration: int, attempt: int) -> None:
        import asyncpg

        async with self._pool_lock:
            if self._pool is None:
                dsn = self.url.replace("postgresql+asyncpg://", "postgresql://", 1)
                self._pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4, reset=_no_reset)
        values = (run_id, iteration, attempt, os.getpid())
        try:
            await self._pool.execute(
                "INSERT INTO mp_effects (run_id, iteration, attempt, pid) VALUES ($1, $2, $3, $4)",
                *values,
            )
        except asyncpg.UniqueViolationError:
            await self._pool.execute(
                "INSERT INTO mp_duplicates (run_id, iteration, attempt, pid)"
                " VALUES ($1, $2, $3, $4)",
                *values,
            )
            raise DuplicateExecution(f"{run_id} iteration {iteration} ran twice") from None

    def _record_sqlite(self, run_id: str, iteration: int, attempt: int) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            path = self.url.split(":///", 1)[1]
            conn = sqlite3.connect(path, isolation_level=None, timeout=60)
            self._local.conn = conn
        values = (run_id, iteration, attempt, os.getpid())
        try:
            conn.execute(
                "INSERT INTO mp_effects (run_id, iteration, attempt, pid) VALUES (?, ?, ?, ?)",
                values,
            )
        except sqlite3.IntegrityError:
            conn.execute(
                "INSERT INTO mp_duplicates (run_id, iteration, attempt, pid) VALUES (?, ?, ?, ?)",
                values,
            )
            raise DuplicateExecution(f"{run_id} iteration {iteration} ran twice") from None


_recorder: _Recorder | None = None


def recorder() -> _Recorder:
    global _recorder
    if _recorder is None:
        _recorder = _Recorder(os.environ["TASKLOOM_DATABASE_URL"])
    return _recorder


@register
class RecordEffect(TaskDefinition[Any]):
    id = "mp-record"
    title = "Record a side effect per iteration"
    max_iterations = ITERATIONS + 1

    async def run(self, controller: TaskController[Any]) -> Any:
        run = controller.run
        await recorder().record(run.id, run.iteration, run.attempt)
        if run.iteration + 1 >= ITERATIONS:
            return controller.response.done(output={"iterations": run.iteration + 1})
        return controller.response.continue_()


@register
class HangInFirstWorker(TaskDefinition[Any]):
    """Hangs in a worker started with MP_HANG=1 (which the test then kills);
    finishes anywhere else, telling which process finished it."""

    id = "mp-hang"

    async def run(self, controller: TaskController[Any]) -> Any:
        if os.environ.get("MP_HANG") == "1":
            await asyncio.Event().wait()
        return controller.response.done(output={"pid": os.getpid()})

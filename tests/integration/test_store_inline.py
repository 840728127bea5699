"""SQLite's inline write path (server/store/sqlite/inline.py): a write
someone waits on (`WriteOp.urgent`) committed on the caller's thread when
the write lock is free at once, and queued to the writer thread otherwise,
with the same results and errors."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, insert, text

from taskloom.definitions import NotFound, TaskController, TaskDefinition
from taskloom.definitions.errors import StoreError
from taskloom.server.store.group_commit import FnOp, WriteOp
from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import InsertRuns, new_run_row
from taskloom.server.store.sqlite.database import SQLiteDatabase
from taskloom.server.taskloom import Taskloom


class Noop(TaskDefinition[Any]):
    id = "inline-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "inline.db"


def _app(path: Path, **options: Any) -> Taskloom:
    from taskloom.definitions.registry import Registry

    options.setdefault("load_entry_points", False)
    return Taskloom(
        f"sqlite+aiosqlite:///{path}", registry=Registry([Noop]), worker=False, **options
    )


@pytest.fixture
async def app(db_path: Path) -> AsyncIterator[Taskloom]:
    started = _app(db_path)
    await started.start()
    try:
        yield started
    finally:
        await started.stop(grace=0.5)


class UrgentFn(FnOp[Any]):
    """A function someone waits on: a candidate for the inline path."""

    urgent = True


def _op(inline: bool, fn: Callable[[Connection], Any]) -> FnOp[Any]:
    return UrgentFn(fn) if inline else FnOp(fn)


class Queued:
    """Counts the writes that went to the writer thread (`queue`)."""

    def __init__(self, database: SQLiteDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.called = asyncio.Event()
        original = database.queue

        async def write(op: WriteOp[Any]) -> Any:
            self.count += 1
            self.called.set()
            return await original(op)

        monkeypatch.setattr(database, "queue", write)


def _sqlite(app: Taskloom) -> SQLiteDatabase:
    database = app.database
    assert isinstance(database, SQLiteDatabase)
    return database


@pytest.fixture
def other(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as another process would hold it."""
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    try:
        yield conn
    finally:
        conn.close()


def _stored(conn: sqlite3.Connection, run_id: str) -> tuple[str, str] | None:
    found = conn.execute("SELECT id, status FROM task_runs WHERE id = ?", (run_id,)).fetchone()
    return None if found is None else (found[0], found[1])


async def test_a_trigger_commits_inline_and_is_durable_when_it_returns(
    app: Taskloom, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = Queued(_sqlite(app), monkeypatch)
    run = await app.service.trigger(Noop.id, {"n": 1})
    many = await app.service.trigger_many(Noop.id, [None, {"n": 2}])
    assert queued.count == 0  # nothing went through the writer thread
    fresh = sqlite3.connect(db_path)
    try:
        assert _stored(fresh, run.id) == (run.id, "PENDING")
        assert all(_stored(fresh, r.id) == (r.id, "PENDING") for r in many)
    finally:
        fresh.close()
    assert (await app.service.get(run.id)).input == {"n": 1}


async def test_a_held_write_lock_sends_the_trigger_to_the_writer_thread_without_blocking(
    app: Taskloom, other: sqlite3.Connection, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = Queued(_sqlite(app), monkeypatch)
    other.execute("BEGIN IMMEDIATE")  # the write lock, as another process holds it
    trigger = asyncio.create_task(app.service.trigger(Noop.id))
    await asyncio.wait_for(queued.called.wait(), 10)  # fell back at once
    ticked = asyncio.Event()

    async def tick() -> None:  # the loop keeps running while the lock is held
        for _ in range(50):
            await asyncio.sleep(0)
        ticked.set()

    ticker = asyncio.create_task(tick())
    await asyncio.wait_for(ticked.wait(), 10)
    await ticker
    assert not trigger.done()
    other.execute("COMMIT")
    run = await asyncio.wait_for(trigger, 30)
    assert queued.count == 1
    assert _stored(other, run.id) == (run.id, "PENDING")
    # The lock is free again: the next trigger commits inline.
    await app.service.trigger(Noop.id)
    assert queued.count == 1


def _insert_then(fail: Callable[[], Exception], row: dict[str, Any]) -> Callable[[Connection], Any]:
    def fn(conn: Connection) -> Any:
        conn.execute(insert(runs), [row])
        raise fail()

    return fn


def _row() -> dict[str, Any]:
    now = time.time()
    return new_run_row(definition_id=Noop.id, input={}, now=now, run_at=now)


@pytest.mark.parametrize("inline", [True, False])
async def test_failures_reach_the_caller_as_from_the_writer_thread(
    app: Taskloom, other: sqlite3.Connection, inline: bool
) -> None:
    database = _sqlite(app)
    existing = await app.service.trigger(Noop.id)
    duplicate = {**_row(), "id": existing.id}
    with pytest.raises(StoreError, match="database write failed"):
        await database.run_write(_op(inline, lambda c: c.execute(insert(runs), [duplicate])))
    row = _row()
    with pytest.raises(NotFound, match="gone"):
        await database.run_write(_op(inline, _insert_then(lambda: NotFound("gone"), row)))
    with pytest.raises(ValueError, match="boom"):
        await database.run_write(_op(inline, _insert_then(lambda: ValueError("boom"), row)))
    assert _stored(other, row["id"]) is None  # rolled back
    # The connection is still good for the next write.
    run = await app.service.trigger(Noop.id)
    assert _stored(other, run.id) == (run.id, "PENDING")


async def test_results_are_those_of_the_writer_thread(app: Taskloom) -> None:
    database = _sqlite(app)

    def count(conn: Connection) -> int:
        return int(conn.execute(text("SELECT count(*) FROM task_runs")).scalar_one())

    await app.service.trigger(Noop.id)
    assert await database.run_write(UrgentFn(count)) == 1
    assert await database.run_write(FnOp(count)) == 1


async def test_synchronous_full_never_commits_on_the_loop(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(db_path, sqlite_synchronous="FULL")
    await app.start()
    try:
        queued = Queued(_sqlite(app), monkeypatch)
        await app.service.trigger(Noop.id)
        await app.service.trigger_many(Noop.id, [None, None])
        assert queued.count == 2
    finally:
        await app.stop(grace=0.5)


async def test_event_loops_in_several_threads_share_the_database(app: Taskloom) -> None:
    database = _sqlite(app)
    ids: list[str] = []
    lock = threading.Lock()

    async def write_some() -> None:
        for _ in range(50):
            row = _row()
            await database.run_write(InsertRuns([row]))
            with lock:
                ids.append(row["id"])

    await asyncio.gather(
        write_some(), *(asyncio.to_thread(asyncio.run, write_some()) for _ in range(3))
    )
    assert len(ids) == 200
    assert await app.service.count_runs() == 200


async def test_a_closed_database_refuses_inline_writes(db_path: Path) -> None:
    app = _app(db_path)
    await app.start()
    database = _sqlite(app)
    await app.stop(grace=0.5)
    with pytest.raises(RuntimeError, match="not started"):
        await database.run_write(InsertRuns([_row()]))

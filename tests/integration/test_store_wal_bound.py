"""SQLite's WAL stays bounded under writes that never pause: past
WAL_RESTART_BYTES the writer thread restarts the WAL and the file is cut back
to that size, while triggers (inline and queued) and polling readers go on
and no write fails."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.store.sqlite import checkpoints, connections
from taskloom.server.taskloom import Taskloom

BOUND = 512 * 1024  # WAL_RESTART_BYTES for these tests
DEADLINE_SECONDS = 60.0


class Noop(TaskDefinition[Any]):
    id = "wal-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "wal.db"


@pytest.fixture
async def app(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Taskloom]:
    monkeypatch.setattr(connections, "WAL_RESTART_BYTES", BOUND)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_EVERY", 20)
    monkeypatch.setattr(checkpoints, "WAL_RESTART_WAIT_MS", 50)
    started = Taskloom(
        f"sqlite+aiosqlite:///{db_path}",
        registry=Registry([Noop]),
        worker=False,
        load_entry_points=False,
    )
    await started.start()
    try:
        yield started
    finally:
        await started.stop(grace=0.5)


def _wal_size(db_path: Path) -> int:
    try:
        return (db_path.parent / (db_path.name + "-wal")).stat().st_size
    except FileNotFoundError:
        return 0


class Writes:
    """Triggers one by one and in small batches until stopped, with a reader
    polling beside them; counts the runs written."""

    def __init__(self, app: Taskloom) -> None:
        self.app = app
        self.written = 0
        self.reads = 0
        self.stop = asyncio.Event()

    async def write(self) -> None:
        while not self.stop.is_set():
            for _ in range(10):
                await self.app.service.trigger(Noop.id)
                self.written += 1
            self.written += len(await self.app.service.trigger_many(Noop.id, [None] * 20))
            await asyncio.sleep(0)  # an inline write may not yield: let the checks run

    async def read(self) -> None:
        while not self.stop.is_set():
            await self.app.service.count_runs(RunFilter(statuses=("PENDING",)))
            self.reads += 1
            await asyncio.sleep(0.005)


async def _until(condition: Any, what: str, tasks: list[asyncio.Task[None]]) -> None:
    """Polls `condition` while the writes run; fails on the deadline or as
    soon as a write or read fails."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        for task in tasks:
            if task.done():
                task.result()  # raises the write's error
                pytest.fail("the writes stopped")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE_SECONDS} s")
        await asyncio.sleep(0.01)


async def _count(app: Taskloom) -> int:
    return await app.service.count_runs(RunFilter(statuses=("PENDING",)))


async def test_the_wal_comes_back_under_the_bound_while_writes_continue(
    app: Taskloom, db_path: Path
) -> None:
    writes = Writes(app)
    tasks = [asyncio.create_task(writes.write()), asyncio.create_task(writes.read())]
    try:
        for cycle in range(2):  # grows past the bound and is cut back, twice
            await _until(lambda: _wal_size(db_path) > BOUND, f"growth ({cycle})", tasks)
            await _until(lambda: _wal_size(db_path) <= BOUND, f"restart ({cycle})", tasks)
        written_before_stop = writes.written
        await _until(lambda: writes.written > written_before_stop + 100, "later writes", tasks)
    finally:
        writes.stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results == [None, None]  # no write or read failed
    assert writes.reads > 0
    assert await _count(app) == writes.written


async def test_a_reader_holding_the_wal_delays_the_restart_without_failing_writes(
    app: Taskloom, db_path: Path
) -> None:
    reader = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    try:
        # A read transaction on the WAL as it is now, as a long report would hold.
        await app.service.trigger(Noop.id)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM task_runs").fetchone()
        writes = Writes(app)
        tasks = [asyncio.create_task(writes.write())]
        try:
            # The WAL cannot start over while the reader may need its frames.
            await _until(lambda: _wal_size(db_path) > 4 * BOUND, "growth", tasks)
            reader.execute("COMMIT")
            await _until(lambda: _wal_size(db_path) <= BOUND, "restart", tasks)
        finally:
            writes.stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results == [None]
        assert await _count(app) == writes.written + 1
    finally:
        reader.close()

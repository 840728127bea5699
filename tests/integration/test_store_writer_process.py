"""A worker on a SQLite file commits its claims, outcomes and this
process's new runs through the writer process (server/store/sqlite/
writer_process.py), as the SQLite adapter decides (sqlite/database.py).
What it writes must be what this process's own path writes, and whatever
happens to the process (a lost lease, an error, its death, a stop in the
middle of a claim), no run is lost or left RUNNING."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.dialects import sqlite

from taskloom.definitions import Registry, TaskController, TaskDefinition
from taskloom.definitions.errors import StoreError
from taskloom.server.store.claims import Claim
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.migrate import migrate
from taskloom.server.store.new_runs import InsertRuns, new_run_row
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.store.sqlite.database import SQLiteDatabase
from taskloom.server.store.sqlite.op_scripts import script_of
from taskloom.server.store.sqlite.writer_process import WriterProcess
from taskloom.server.taskloom import Taskloom
from tests.support.waiting import eventually

WORKER = "host:1:test"
DEFINITION = "writer-noop"


class Noop(TaskDefinition[Any]):
    id = DEFINITION

    async def run(self, controller: TaskController[Any]) -> Any:
        controller.log.info("ran")
        return {"ran": controller.run.id}


def _writer(database: SQLiteDatabase) -> WriterProcess:
    process = database._process
    assert process is not None
    return process


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = SQLiteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'writer.db'}")
    await db.start()
    await migrate(db)
    await db.start_worker_writes()
    try:
        yield db
    finally:
        await db.close()


def _rows(count: int, *, now: float, priority: int = 0) -> list[dict[str, Any]]:
    return [
        new_run_row(definition_id=DEFINITION, input={}, now=now, run_at=now, priority=priority)
        for _ in range(count)
    ]


def _claim(limit: int, now: float, definition: str = DEFINITION) -> Claim:
    return Claim(WORKER, limit, now, now + 30, [definition])


def _done(row: Mapping[Any, Any], now: float, worker: str = WORKER) -> IterationOutcome:
    return IterationOutcome(
        run_id=row["id"],
        worker_id=worker,
        claim=row["claims"],
        status="SUCCEEDED",
        state={},
        iterations=1,
        attempt=0,
        run_at=now,
        now=now,
        output={"n": 1},
        finished=True,
        logs=[_log(row["id"], now)],
    )


def _log(run_id: str, now: float) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "level": "INFO",
        "message": "ok",
        "data": None,
        "iteration": 0,
        "created_at": now,
    }


async def _statuses(db: SQLiteDatabase) -> dict[str, str]:
    rows = await db.read(lambda c: c.exec_driver_sql("SELECT id, status FROM task_runs").all())
    return {run_id: status for run_id, status in rows}


async def test_claims_outcomes_and_new_runs_are_committed_by_the_process(
    database: SQLiteDatabase,
) -> None:
    """An outcome batch always; a claim while runs are in flight; new runs
    while the process is busy."""
    now = time.time()
    await database.run_write(InsertRuns(_rows(4, now=now)))  # alone: in this process
    first = await database.run_write(_claim(2, now))  # alone: in this process
    assert _writer(database).committed == 0
    second = await database.run_write(_claim(2, now))  # runs in flight
    assert len(first) == len(second) == 2
    assert all("rowid" not in row for row in first + second)  # it stays in the adapter
    saved, _ = await asyncio.gather(
        database.run_write(FinishIterations([_done(row, now) for row in first + second])),
        database.run_write(InsertRuns(_rows(1, now=now))),  # the process is busy
    )
    assert saved == [True] * 4
    assert _writer(database).committed == 3
    assert sorted((await _statuses(database)).values()) == ["PENDING"] + ["SUCCEEDED"] * 4
    logs = await database.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM task_logs"))
    assert logs.scalar() == 4


async def test_a_write_alone_with_the_process_idle_saves_the_hop(
    database: SQLiteDatabase,
) -> None:
    """A trigger on an idle worker, or the claim that wakes it, has nothing
    to overlap with: it is committed in this process, as fast as before."""
    now = time.time()
    await database.run_write(InsertRuns(_rows(2, now=now)))
    claimed = await database.run_write(_claim(10, now))
    assert len(claimed) == 2
    assert _writer(database).committed == 0


async def test_a_batch_with_a_lost_lease_is_saved_by_the_careful_path(
    database: SQLiteDatabase,
) -> None:
    """The script's guard rolls the batch back; this process's path then
    saves the outcomes whose leases are held and reports the lost one."""
    now = time.time()
    await database.run_write(InsertRuns(_rows(2, now=now)))
    held, lost = await database.run_write(_claim(10, now))
    outcomes = [_done(held, now), _done(lost, now, worker="someone-else")]
    saved = await database.run_write(FinishIterations(outcomes))
    assert saved == [True, False]
    assert _writer(database).committed == 0
    statuses = await _statuses(database)
    assert statuses == {held["id"]: "SUCCEEDED", lost["id"]: "RUNNING"}


async def test_a_refused_script_is_reported_as_this_process_reports_it(
    database: SQLiteDatabase,
) -> None:
    now = time.time()
    rows = _rows(1, now=now)
    await database.run_write(InsertRuns(rows))
    with pytest.raises(StoreError):
        await asyncio.gather(
            database.run_write(FinishIterations([])),  # keeps the process busy
            database.run_write(InsertRuns(rows)),  # the same id again
        )
    assert len(await _statuses(database)) == 1
    assert _writer(database).alive


async def test_the_oldest_first_turn_takes_the_oldest_due_run_whatever_its_priority(
    database: SQLiteDatabase,
) -> None:
    now = time.time()
    old = _rows(1, now=now - 60, priority=0)
    urgent = _rows(2, now=now, priority=9)
    other = new_run_row(definition_id="other", input={}, now=now, run_at=now)
    await database.run_write(InsertRuns([*old, *urgent, other]))
    # A run in flight: the claims that follow go to the process.
    in_flight = await database.run_write(_claim(1, now, "other"))
    assert len(in_flight) == 1
    oldest = Claim(WORKER, 1, now, now + 30, [DEFINITION], oldest_first=True)
    assert script_of(oldest, sqlite.dialect()) is not None
    claimed = await database.run_write(oldest)
    assert [row["id"] for row in claimed] == [old[0]["id"]]
    # With one priority left, the turn takes the claim index's order.
    claimed = await database.run_write(
        Claim(WORKER, 5, now, now + 30, [DEFINITION], oldest_first=True)
    )
    assert sorted(row["id"] for row in claimed) == sorted(row["id"] for row in urgent)
    assert _writer(database).committed == 2


async def test_the_process_is_out_of_reach_of_ctrl_c_and_ends_with_its_parent(
    tmp_path: Path,
) -> None:
    """Ctrl-C reaches the terminal's process group; the parent still has
    outcomes to send, so the child is in a session of its own, ignores
    SIGINT and SIGTERM, and waits for its parent to close it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with Taskloom(url, registry=Registry([Noop]), load_entry_points=False) as app:
        assert isinstance(app.database, SQLiteDatabase)
        writer = _writer(app.database)
        pid = writer.pid
        assert pid is not None
        assert os.getpgid(pid) != os.getpgrp()
        first = await app.service.trigger(Noop.id)
        await app.service.wait(first.id, timeout=10)
        committed = writer.committed
        assert committed > 0  # its outcome: the child is past its start
        for sent in (signal.SIGINT, signal.SIGTERM):
            os.kill(pid, sent)
        await asyncio.sleep(0.1)
        made = await app.service.trigger_many(Noop.id, [None] * 50)
        for run in made:
            assert (await app.service.wait(run.id, timeout=10)).output == {"ran": run.id}
        assert writer.alive and writer.committed > committed
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_the_worker_goes_on_in_process_when_the_writer_process_dies(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with Taskloom(url, registry=Registry([Noop]), load_entry_points=False) as app:
        assert isinstance(app.database, SQLiteDatabase)
        writer = _writer(app.database)
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        await eventually(lambda: not writer.alive)
        made = await app.service.trigger_many(Noop.id, [None] * 300)
        for run in made:
            assert (await app.service.wait(run.id, timeout=10)).output == {"ran": run.id}


async def test_runs_claimed_as_the_worker_stops_are_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stop() cancels the claim loop while a claim is being committed (its
    commit crosses an `await`, in the writer process or the writer thread):
    the runs it claimed go back to PENDING, not RUNNING until their lease
    ends."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    async with Taskloom(url, registry=Registry([Noop]), worker=False) as api:
        await api.service.trigger_many(Noop.id, [None] * 20)
    answered = asyncio.Event()
    write = SQLiteDatabase.write

    async def slow_claim(self: SQLiteDatabase, op: Any) -> Any:
        result = await write(self, op)
        if isinstance(op, Claim) and result:
            answered.set()
            await asyncio.sleep(1)  # stop() comes first
        return result

    monkeypatch.setattr(SQLiteDatabase, "write", slow_claim)
    app = Taskloom(url, registry=Registry([Noop]), load_entry_points=False)
    await app.start()
    await asyncio.wait_for(answered.wait(), 10)
    assert app.worker is not None
    await app.worker.stop(grace=0.5)
    statuses = await app.database.read(
        lambda c: c.exec_driver_sql("SELECT status, count(*) FROM task_runs GROUP BY status").all()
    )
    await app.stop(grace=0.5)
    assert dict(statuses) == {"PENDING": 20}

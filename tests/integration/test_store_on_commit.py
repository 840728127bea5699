"""What a committed write tells the rest of the process goes to the
database's on-commit callback (server/store/committed.py), once committed,
and only for what was committed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from taskloom.server.store.claims import Claim
from taskloom.server.store.committed import Committed, NewRuns, RunsMoved
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.leases import ReleaseRuns, RescueExpired
from taskloom.server.store.migrate import migrate
from taskloom.server.store.new_runs import InsertIdempotent, InsertRuns, new_run_row
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.store.sqlite.database import SQLiteDatabase

WORKER = "host:1:on-commit"


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    db = SQLiteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'on_commit.db'}")
    await db.start()
    await migrate(db)
    try:
        yield db
    finally:
        await db.close()


def _row(now: float, **changes: Any) -> dict[str, Any]:
    return new_run_row(definition_id="job", input={}, now=now, run_at=now, **changes)


def _outcome(run_id: str, now: float, worker: str, **changes: Any) -> IterationOutcome:
    values: dict[str, Any] = {"state": {}, "iterations": 1, "attempt": 0, "run_at": now}
    values["claim"] = 1  # the run's first claim
    values.update(status="SUCCEEDED", finished=True, now=now, **changes)
    return IterationOutcome(run_id=run_id, worker_id=worker, **values)


async def test_new_runs_are_announced_once_created(database: SQLiteDatabase) -> None:
    told: list[Committed] = []
    database.on_commit = told.append
    now = time.time()
    rows = [_row(now), _row(now)]
    await database.run_write(InsertRuns(rows))
    keyed = _row(now, idempotency_key="once")
    created, _ = await database.run_write(InsertIdempotent(keyed))
    again, _ = await database.run_write(InsertIdempotent(_row(now, idempotency_key="once")))
    assert (created, again) == (True, False)
    assert told == [NewRuns(rows), NewRuns([keyed])]


async def test_children_of_saved_outcomes_only_are_announced(database: SQLiteDatabase) -> None:
    told: list[Committed] = []
    now = time.time()
    await database.run_write(InsertRuns([_row(now), _row(now)]))
    database.on_commit = told.append
    first, second = await database.run_write(Claim(WORKER, 2, now, now + 30, ["job"]))
    kept, lost = _row(now, parent_id=first["id"]), _row(now, parent_id=second["id"])
    saved = await database.run_write(
        FinishIterations(
            [
                _outcome(first["id"], now, WORKER, children=[kept]),
                _outcome(second["id"], now, "someone-else", children=[lost]),
            ]
        )
    )
    assert saved == [True, False]
    assert told == [NewRuns([kept])]


async def test_released_and_rescued_runs_are_announced_with_their_status(
    database: SQLiteDatabase,
) -> None:
    told: list[Committed] = []
    now = time.time()
    rows = [_row(now), _row(now)]
    await database.run_write(InsertRuns(rows))
    database.on_commit = told.append
    held = await database.run_write(Claim(WORKER, 1, now, now + 30, ["job"]))
    expired = await database.run_write(Claim("gone", 1, now, now - 1, ["job"]))
    await database.run_write(ReleaseRuns(WORKER, [held[0]["id"]], now))
    await database.run_write(RescueExpired(now, 3))
    assert await database.run_write(RescueExpired(now, 3)) == []  # nothing: no announcement
    assert told == [
        RunsMoved([(held[0]["id"], "PENDING")], due=True),
        RunsMoved([(expired[0]["id"], "PENDING")], due=True),
    ]

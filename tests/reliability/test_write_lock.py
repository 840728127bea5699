"""Another process holds SQLite's write lock for longer than the lease
(2 s here, 30 s by default) while workers run multi-iteration runs. Leases
run out and runs are rescued while their iterations run; each outcome is
still saved exactly once (its claim's token), and every run finishes.
Before: "iter 0" and "iter 1" were saved twice in 3 of 5 trials."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.reliability import report
from tests.reliability.defs import Child, Steps
from tests.reliability.harness import Proc

RUNS = 40
LOCK_SECONDS = 5.0


@pytest.mark.timeout(180)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_lock_held_past_the_lease_saves_no_outcome_twice(
    database_url: str, tmp_path: Path
) -> None:
    book = tmp_path / "ledger.jsonl"
    api = Taskloom(
        database_url, registry=Registry([Steps, Child]), worker=False, load_entry_points=False
    )
    await api.start()
    env = {"TASKLOOM_LEASE_SECONDS": "2", "TASKLOOM_MAX_LEASE_LOSSES": "50"}
    workers = [Proc(["worker"], database_url, tmp_path, book, **env) for _ in range(2)]
    try:
        for worker in workers:
            worker.start().wait_ready("running")
        made = await api.service.trigger_many(Steps.id, [{"steps": 4, "sleep": 0.5}] * RUNS)
        await asyncio.sleep(1.0)  # iterations under way
        for _ in range(2):
            lock = sqlite3.connect(database_url.split(":///", 1)[1], isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            await asyncio.sleep(LOCK_SECONDS)
            lock.execute("ROLLBACK")
            lock.close()
            await asyncio.sleep(1.0)
        for _ in range(600):
            if await api.service.count_runs(RunFilter(statuses=report.FINISHED)) >= 2 * RUNS:
                break
            await asyncio.sleep(0.2)
        result = await report.build(api, [r.id for r in made], book, killed_pids=set())
        assert result.outcomes_saved_twice == 0, result.details
        assert (result.lost_runs, result.stuck_runs, result.failed_runs) == (0, 0, 0)
        assert (result.duplicated_children, result.missing_children) == (0, 0)
        for worker in workers:
            assert not worker.exited(), worker.output()[-3000:]
    finally:
        for worker in workers:
            worker.stop()
        await api.stop()

"""Two `taskloom worker` processes on one database (a SQLite file or a
PostgreSQL server) agree on a rate limit, whose window they share, and on
a paused definition, which neither claims until it is resumed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.rate_limit import max_in_window
from taskloom.definitions import TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.integration.policy_defs import HOLD, RATE, Switchable, TenPerSecond
from tests.integration.test_multiprocess import TaskloomProcess

RUNS = 60
# Each worker alone starts at most CONCURRENCY / HOLD = 6 runs a second,
# fewer than RATE, so both must take runs; together they could start 12,
# more than RATE, so the shared window is what holds them to it. (One
# worker with enough free slots may take every start: docs/architecture.md.)
CONCURRENCY = 3
ENV = {"TASKLOOM_DEFINITIONS": "tests.integration.policy_defs"}


@pytest.fixture
async def two_workers(database_url: str, tmp_path: Path) -> AsyncIterator[Taskloom]:
    """An API-only Taskloom (it migrates the database first) and two worker
    processes, started and ready."""
    api = Taskloom(
        database_url,
        registry=Registry([TenPerSecond, Switchable]),
        worker=False,
        load_entry_points=False,
    )
    await api.start()
    args = ["worker", "--concurrency", str(CONCURRENCY)]
    workers = [TaskloomProcess(i, database_url, tmp_path, args, ENV) for i in range(2)]
    try:
        for worker in workers:
            await worker.start()
        deadline = time.monotonic() + 60
        while not all(w.ready() for w in workers):
            for worker in workers:
                assert not worker.exited(), worker.output()
            assert time.monotonic() < deadline, "the workers did not start"
            await asyncio.sleep(0.1)
        yield api
    finally:
        for worker in workers:
            await worker.stop(timeout=10)
        await api.stop()


async def _finished(api: Taskloom, definition_id: str, runs: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    where = RunFilter(definition_id=definition_id, statuses=("SUCCEEDED",))
    while await api.service.count_runs(where) < runs:
        assert time.monotonic() < deadline, f"{runs} runs did not finish"
        await asyncio.sleep(0.1)


@pytest.mark.timeout(180)
async def test_two_processes_share_one_rate_limit_window(two_workers: Taskloom) -> None:
    api = two_workers
    assert CONCURRENCY / HOLD < RATE < 2 * CONCURRENCY / HOLD  # the premise above
    await api.service.trigger_many(TenPerSecond.id, [None] * RUNS)
    await _finished(api, TenPerSecond.id, RUNS, 60)
    page = await api.service.list_runs(RunFilter(definition_id=TenPerSecond.id), first=RUNS)
    starts = sorted(r.started_at.timestamp() for r in page.items if r.started_at)
    assert len({r.last_worker_id for r in page.items}) == 2, "both workers took runs"
    assert max_in_window(starts, 1.0) <= RATE
    # 60 starts at 10 per second: the last at least 5 s after the first.
    assert starts[-1] - starts[0] >= (RUNS / RATE) - 1


@pytest.mark.timeout(180)
async def test_neither_process_claims_a_paused_definition(two_workers: Taskloom) -> None:
    api = two_workers
    await api.service.pause_definition(Switchable.id)
    runs = await api.service.trigger_many(Switchable.id, [None] * 20)
    await asyncio.sleep(2)  # both workers poll every 0.5 s and are woken by the trigger
    assert await api.service.count_runs(RunFilter(definition_id=Switchable.id)) == 20
    pending = await api.service.count_runs(
        RunFilter(definition_id=Switchable.id, statuses=("PENDING",))
    )
    assert pending == 20
    await api.service.resume_definition(Switchable.id)
    await _finished(api, Switchable.id, 20, 60)
    done = [await api.service.get(run.id) for run in runs]
    assert all(r.status is TaskStatus.SUCCEEDED for r in done)

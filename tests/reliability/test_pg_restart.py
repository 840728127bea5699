"""PostgreSQL stops (every connection dropped) in the middle of work and
comes back 3 s later on the same port: the worker processes and the API
reconnect by themselves, every run finishes, nothing is lost, duplicated or
saved twice, and each process logs the outage once, not once per poll."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskloom.definitions.errors import TaskloomError
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.reliability import report
from tests.reliability.defs import Child, Steps
from tests.reliability.harness import Proc
from tests.support.postgres import PgCluster, find_bindir

RUNS = 40
OUTAGE = 3.0


@pytest.fixture
def own_cluster() -> Iterator[PgCluster]:
    """A server of this test's own, since it is stopped and started."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed")
    cluster = PgCluster(bindir).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.postgres
@pytest.mark.timeout(180)
async def test_workers_and_api_reconnect_after_a_postgresql_restart(
    own_cluster: PgCluster, tmp_path: Path
) -> None:
    url = own_cluster.url(own_cluster.create_database())
    book = tmp_path / "ledger.jsonl"
    api = Taskloom(url, registry=Registry([Steps, Child]), worker=False, load_entry_points=False)
    await api.start()
    workers = [Proc(["worker"], url, tmp_path, book, TASKLOOM_LEASE_SECONDS="5") for _ in range(2)]
    try:
        for worker in workers:
            worker.start().wait_ready("running")
        made = await api.service.trigger_many(Steps.id, [{"steps": 4, "sleep": 0.4}] * RUNS)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_cluster.outage, OUTAGE)
        for _ in range(600):
            try:
                done = await api.service.count_runs(RunFilter(statuses=report.FINISHED))
            except TaskloomError:  # the API's pool reconnects on its next use
                done = 0
            if done >= 2 * RUNS:
                break
            await asyncio.sleep(0.2)
        result = await report.build(api, [r.id for r in made], book, killed_pids=set())
        assert (result.lost_runs, result.stuck_runs, result.failed_runs) == (0, 0, 0)
        assert (result.duplicated_children, result.missing_children) == (0, 0)
        assert result.outcomes_saved_twice == 0, result.details
        for worker in workers:
            output = worker.output()
            assert not worker.exited(), output[-3000:]
            errors = [
                line
                for line in output.splitlines()
                if re.search(r"\bERROR +taskloom\.(worker|scheduler)\b", line)
            ]
            # Once per loop that noticed (the worker's claims, lease upkeep
            # and saver share one log; the scheduler), never once per poll.
            assert len(errors) <= 2, "\n".join(errors)
            assert "works again" in output
        # The API answers again.
        await api.service.trigger(Child.id, {"parent": "none"})
    finally:
        for worker in workers:
            worker.stop()
        await api.stop()

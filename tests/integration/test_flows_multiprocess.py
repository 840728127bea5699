"""Fan-in and dependencies with two `taskloom worker` processes on one
database (a PostgreSQL server, or one SQLite file): the workers agree on
when a wait is over, so every parent wakes once, after its last child, and
every dependency chain runs in order or fails naming the broken link."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from taskloom.definitions import TaskStatus
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.registry import Registry
from taskloom.server.taskloom import Taskloom
from tests.integration.flows_multiproc_defs import CHILDREN, FanIn, Leaf, Link
from tests.integration.test_multiprocess import TaskloomProcess, _wait_until

PARENTS = 10
CHAINS = 10
DEFINITIONS = "tests.integration.flows_multiproc_defs"


@pytest.fixture
async def workers(database_url: str, tmp_path: Path) -> AsyncIterator[list[TaskloomProcess]]:
    started = [
        TaskloomProcess(
            i,
            database_url,
            tmp_path,
            ["worker", "--concurrency", "8"],
            env={"TASKLOOM_DEFINITIONS": DEFINITIONS},
        )
        for i in range(2)
    ]
    yield started
    for worker in started:
        await worker.stop(timeout=10)


@pytest.mark.timeout(240)
async def test_two_workers_agree_on_fan_in_and_dependencies(
    database_url: str, workers: list[TaskloomProcess]
) -> None:
    api = Taskloom(
        database_url, registry=Registry([Leaf, FanIn, Link]), worker=False, load_entry_points=False
    )
    await api.start()
    try:
        for worker in workers:
            await worker.start()

        async def ready() -> bool:
            for worker in workers:
                assert not worker.exited(), worker.output()
            return all(w.ready() for w in workers)

        await _wait_until(ready, 60, "the workers to start")
        service = api.service
        parents = [await service.trigger(FanIn, {}) for _ in range(PARENTS)]
        chains = []
        for chain in range(CHAINS):
            first = await service.trigger(Link, {"fail": chain % 2 == 1})
            second = await service.trigger(Link, {}, after=[first.id])
            third = await service.trigger(Link, {}, after=[first.id, second.id])
            chains.append((first, second, third))

        async def finished() -> bool:
            for worker in workers:
                assert not worker.exited(), worker.output()
            unfinished = await service.count_runs(
                RunFilter(statuses=(TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.PAUSED))
            )
            return unfinished == 0

        await _wait_until(finished, 180, "every run to finish", poll=0.1)
        for parent in parents:
            done = await service.get(parent.id)
            assert done.status is TaskStatus.SUCCEEDED, (done.error, workers[0].output())
            assert done.output["children"] == CHILDREN
            assert done.iterations == 2, "one iteration to fan out, one after the only wake"
        for index, (first, second, third) in enumerate(chains):
            runs = [await service.get(run.id) for run in (first, second, third)]
            if index % 2 == 0:
                assert [r.status for r in runs] == [TaskStatus.SUCCEEDED] * 3
                assert runs[0].finished_at <= runs[1].started_at  # type: ignore[operator]
                assert runs[1].finished_at <= runs[2].started_at  # type: ignore[operator]
            else:
                assert runs[0].status is TaskStatus.FAILED
                for dependent in runs[1:]:
                    assert dependent.status is TaskStatus.FAILED
                    assert dependent.error is not None
                    assert dependent.error.code == "DEPENDENCY_FAILED"
                    assert dependent.iterations == 0
                assert runs[1].error is not None
                assert runs[1].error.message == f"dependency {first.id} ended FAILED"
    finally:
        await api.stop()

"""The synchronous twin of TaskService: same methods and errors, safe from
many threads, and the transactional trigger through a sync Session."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from taskloom.definitions import Conflict, NotFound, TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.sync_service import SyncTaskService

WAIT = 10.0


class Double(TaskDefinition[Any]):
    id = "sync-double"

    def run(self, controller: TaskController[Any]) -> Any:
        return 2 * int((controller.input.model_extra or {}).get("n", 0))


@pytest.fixture
def tasks(database_url: str) -> Iterator[SyncTaskService]:
    with SyncTaskService.open(
        database_url,
        registry=Registry([Double]),
        worker=True,
        load_entry_points=False,
        poll_interval=0.2,
        shutdown_grace=1.0,
    ) as twin:
        yield twin


def test_trigger_wait_and_refusals_without_asyncio(tasks: SyncTaskService) -> None:
    run = tasks.trigger("sync-double", {"n": 21})
    done = tasks.wait(run.id, timeout=WAIT)
    assert done.status is TaskStatus.SUCCEEDED and done.output == 42
    assert tasks.get(run.id).id == run.id
    assert [r.status for r in tasks.history(run.id)] == [TaskStatus.SUCCEEDED]
    with pytest.raises(Conflict):
        tasks.pause(run.id)
    with pytest.raises(NotFound):
        tasks.get("no-such-run")


def test_many_threads_at_once(tasks: SyncTaskService) -> None:
    def work(n: int) -> Any:
        run = tasks.trigger("sync-double", {"n": n})
        return tasks.wait(run.id, timeout=WAIT).output

    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(work, range(24)))
    assert outputs == [2 * n for n in range(24)]
    assert tasks.count_runs() == 24


def test_transactional_trigger_through_a_sync_session(
    tasks: SyncTaskService, database_url: str
) -> None:
    sync_url = database_url.replace("sqlite+aiosqlite:", "sqlite+pysqlite:").replace(
        "postgresql+asyncpg:", "postgresql+psycopg:"
    )
    engine = create_engine(sync_url)
    try:
        with Session(engine) as session:
            session.execute(text("SELECT 1"))
            kept = tasks.trigger("sync-double", {"n": 1}, session=session)
            assert tasks.find(kept.id) is None
            session.commit()
        assert tasks.wait(kept.id, timeout=WAIT).output == 2
        with Session(engine) as session:
            dropped = tasks.trigger("sync-double", {"n": 2}, session=session)
            session.rollback()
        assert tasks.find(dropped.id) is None
        assert tasks.count_runs() == 1
    finally:
        engine.dispose()


def test_policies_without_asyncio(tasks: SyncTaskService) -> None:
    """Pausing a definition, why a run waits, and API schedules, on the twin."""
    assert tasks.pause_definition("sync-double") is True
    assert tasks.paused_definitions() == {"sync-double"}
    run = tasks.trigger("sync-double", {"n": 2})
    assert [str(r) for r in tasks.waiting_reasons([run.id])] == ["DEFINITION_PAUSED"]
    assert tasks.resume_definition("sync-double") is True
    assert tasks.wait(run.id, timeout=WAIT).output == 4
    made = tasks.create_schedule("sync-double", "0 5 * * *", "Asia/Tokyo", {"n": 1})
    assert made.id in {s.id for s in tasks.schedules()}
    assert tasks.delete_schedule(made.id).input == {"n": 1}
    assert tasks.schedules() == []

"""On SQLite, RUNNING runs live in the running-key index only and the other
statuses in the claim index (migration 0005). A partial index serves only
a query that spells its condition: every status filter the store sends
must still find its runs through an index, never by reading the table."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event

from taskloom.definitions import Registry, TaskController, TaskDefinition
from taskloom.definitions.filters import RunFilter
from taskloom.server.store import queries
from taskloom.server.store.fair_claims import Limit, admitted, one_priority
from taskloom.server.store.gauges import queue_figures
from taskloom.server.taskloom import Taskloom

STATUSES = ("PENDING", "RUNNING", "PAUSED", "SUCCEEDED", "FAILED", "ABORTED")


class Noop(TaskDefinition[Any]):
    id = "index-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def plans_of(read: Callable[[Connection], Any]) -> Callable[[Connection], list[str]]:
    """What SQLite plans for each statement `read` sends, with its own
    parameters."""

    def explain(conn: Connection) -> list[str]:
        sent: list[tuple[str, Any]] = []

        def capture(_c: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            sent.append((statement, params))

        event.listen(conn, "before_cursor_execute", capture)
        try:
            read(conn)
        finally:
            event.remove(conn, "before_cursor_execute", capture)
        assert sent
        return [
            step[3]
            for statement, params in sent
            for step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        ]

    return explain


@pytest.fixture
async def app(tmp_path: Path) -> Any:
    url = f"sqlite+aiosqlite:///{tmp_path / 'indexes.db'}"
    app = Taskloom(url, registry=Registry([Noop]), worker=False, load_entry_points=False)
    await app.start()
    await app.service.trigger_many(Noop.id, [None] * 20)
    yield app
    await app.stop()


async def test_the_claim_index_leaves_running_runs_out(app: Taskloom) -> None:
    (ddl,) = await app.database.read(
        lambda c: c.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_task_runs_claim'"
        ).scalars()
    )
    assert ddl.endswith("WHERE status <> 'RUNNING'")


async def test_the_claim_index_keeps_the_claims_order_after_every_migration(
    app: Taskloom,
) -> None:
    # Alembic's batch mode rebuilt the table in later migrations and made
    # this index again without DESC: every claim then sorted the due runs.
    (ddl,) = await app.database.read(
        lambda c: c.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_task_runs_claim'"
        ).scalars()
    )
    assert "(status, priority DESC, run_at)" in ddl


@pytest.mark.parametrize(
    "statuses",
    [("PENDING",), ("RUNNING",), ("FAILED",), ("PENDING", "RUNNING"), STATUSES, ()],
)
async def test_a_count_by_status_searches_an_index(
    app: Taskloom, statuses: tuple[str, ...]
) -> None:
    where = RunFilter(statuses=statuses)
    plan = await app.database.read(plans_of(lambda c: queries.count_runs(c, where)))
    assert "SCAN task_runs" not in plan
    if statuses:
        assert all(step.startswith(("SEARCH", "MULTI-INDEX OR", "INDEX")) for step in plan), plan


@pytest.mark.parametrize(
    "read",
    [
        lambda c: queries.next_due_at(c, [Noop.id]),
        lambda c: queue_figures(c, time.time()),
        one_priority,
    ],
    ids=["next due", "queue figures", "one priority"],
)
async def test_the_store_reads_by_status_search_an_index(
    app: Taskloom, read: Callable[[Connection], Any]
) -> None:
    plan = await app.database.read(plans_of(read))
    assert "SCAN task_runs" not in plan
    assert any("ix_task_runs_claim" in step for step in plan), plan


async def test_counts_by_status_are_right(app: Taskloom) -> None:
    """The spelling changes the plan, not the answer."""
    page = await app.service.list_runs(first=1)
    await app.service.abort(page.items[0].id)
    counts = {s: await app.service.count_runs(RunFilter(statuses=(s,))) for s in STATUSES}
    assert counts == {s: {"PENDING": 19, "ABORTED": 1}.get(s, 0) for s in STATUSES}
    both = RunFilter(statuses=("PENDING", "ABORTED", "RUNNING"))
    assert await app.service.count_runs(both) == 20


async def test_counting_running_runs_per_key_searches_the_running_key_index(
    app: Taskloom,
) -> None:
    """A limited claim's count of a definition's RUNNING runs."""
    limit = Limit(concurrency=2, per_key=None)
    now = time.time()
    plan = await app.database.read(
        plans_of(lambda c: admitted(c, Noop.id, limit, 10, now, oldest_first=False, starts_at={}))
    )
    assert "SCAN task_runs" not in plan
    assert any("ix_task_runs_running_key" in step for step in plan), plan

"""On PostgreSQL a claim reads the claim index in its own order and stops
at its limit (migration 0006), and finds the chosen rows by primary key:
no sort of every due run and no scan of the table, even while the
planner's statistics still describe an empty table, as they do while a
backlog is first written, or once they describe it. A claim under a
concurrency limit chooses its runs the same way, and an outcome's UPDATE
finds its run by primary key, not among every RUNNING run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, RowMapping, event

from taskloom.definitions import TaskController, TaskDefinition
from taskloom.server.store.claims import Claim
from taskloom.server.store.fair_claims import due_runs
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.outcomes import finish_params
from taskloom.server.store.transitions import FINISH_ITERATION
from taskloom.server.taskloom import Taskloom

pytestmark = pytest.mark.postgres

Send = Callable[[Connection], Sequence[RowMapping]]


class Noop(TaskDefinition[Any]):
    id = "plan-noop"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def claim(conn: Connection) -> Sequence[RowMapping]:
    return Claim("w", 128, time.time(), time.time() + 30, [Noop.id]).apply(conn)


def limited_choice(conn: Connection) -> Sequence[RowMapping]:
    """The due runs a claim under a concurrency limit chooses among."""
    return due_runs(conn, [Noop.id], 128, time.time(), oldest_first=False)


def plan_of(send: Send, first_word: str) -> Callable[[Connection], str]:
    """PostgreSQL's plan for the statement that `send` sends starting with
    `first_word`, sent by it as EXPLAIN, with its parameters and settings
    (in a read, rolled back)."""

    def read(conn: Connection) -> str:
        def explain(_c: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> Any:
            if statement.startswith(first_word):
                statement = f"EXPLAIN {statement}"
            return statement, params

        event.listen(conn, "before_cursor_execute", explain, retval=True)
        try:
            plan = send(conn)
        finally:
            event.remove(conn, "before_cursor_execute", explain)
        return "\n".join(line["QUERY PLAN"] for line in plan)

    return read


async def analyze(app: Taskloom) -> None:
    async with app.database.engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE task_runs")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("statistics", ["none", "fresh"])
@pytest.mark.parametrize(
    ("send", "first_word"),
    [(claim, "UPDATE"), (limited_choice, "SELECT")],
    ids=["claim", "limited"],
)
async def test_a_claim_neither_sorts_nor_scans_the_table(
    make_app: Any, statistics: str, send: Send, first_word: str
) -> None:
    app: Taskloom = await make_app(Noop, worker=False)
    for _ in range(10):
        await app.service.trigger_many(Noop.id, [None] * 1_000)
    if statistics == "fresh":
        await analyze(app)
    plan = await app.database.read(plan_of(send, first_word))
    assert "ix_task_runs_claim" in plan, plan
    assert "Sort" not in plan, plan
    # (the paused definitions, a handful of rows, are read whole: once)
    assert "Seq Scan on task_runs" not in plan, plan
    if send is claim:
        assert "task_runs_pkey" in plan, plan


def finish_plan(conn: Connection) -> str:
    """The plan of an outcome's UPDATE for a run just claimed (in a read,
    rolled back)."""
    claimed = claim(conn)
    now = time.time()
    outcome = IterationOutcome(
        run_id=claimed[0]["id"],
        worker_id="w",
        claim=claimed[0]["claims"],
        status="SUCCEEDED",
        state={},
        iterations=1,
        attempt=0,
        run_at=now,
        now=now,
        finished=True,
    )
    plan = plan_of(
        lambda c: c.execute(FINISH_ITERATION, finish_params(outcome)).mappings().all(), "UPDATE"
    )
    return plan(conn)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("statistics", ["none", "fresh"])
async def test_an_outcome_finds_its_run_by_primary_key(make_app: Any, statistics: str) -> None:
    # Without statistics, a condition on `status` made PostgreSQL read the
    # RUNNING-only index: every running run, for each outcome.
    app: Taskloom = await make_app(Noop, worker=False)
    for _ in range(10):
        await app.service.trigger_many(Noop.id, [None] * 1_000)
    await app.database.write_fn(claim)  # RUNNING runs for the index to hold
    if statistics == "fresh":
        await analyze(app)
    plan = await app.database.read(finish_plan)
    assert "task_runs_pkey" in plan, plan
    assert "ix_task_runs_running_key" not in plan, plan

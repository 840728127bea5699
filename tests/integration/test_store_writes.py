"""The store's write path on a real database: claims (order, due time,
known definitions, no double claim), outcomes only under a held lease,
rescue of expired leases, group commit isolating a failing operation,
driver errors wrapped in StoreError."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.definitions.errors import StoreError
from taskloom.server.store.claims import Claim
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.leases import RescueExpired
from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import InsertRuns, new_run_row
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.taskloom import Taskloom


class Job(TaskDefinition[Any]):
    id = "store-job"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


class Unloaded(TaskDefinition[Any]):
    id = "store-unloaded"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


@pytest.fixture
async def app(make_app: Any) -> Taskloom:
    started: Taskloom = await make_app(Job, Unloaded, worker=False)
    return started


async def claim(app: Taskloom, worker: str, limit: int = 10, lease: float = 30.0) -> list[str]:
    now = time.time()
    rows = await app.database.run_write(Claim(worker, limit, now, now + lease, [Job.id]))
    return [row["id"] for row in rows]


async def save(app: Taskloom, one: IterationOutcome) -> bool | Exception:
    """One outcome, saved as a batch of its own."""
    (saved,) = await app.database.run_write(FinishIterations([one]))
    return saved


def outcome(run_id: str, worker: str, **changes: Any) -> IterationOutcome:
    values: dict[str, Any] = {
        "run_id": run_id,
        "worker_id": worker,
        "claim": 1,  # the run's first claim
        "status": "SUCCEEDED",
        "state": {},
        "iterations": 1,
        "attempt": 0,
        "run_at": time.time(),
        "now": time.time(),
        "output": {"by": worker},
        "finished": True,
        "clear_request": True,
        "logs": [
            {
                "run_id": run_id,
                "level": "INFO",
                "message": f"from {worker}",
                "data": None,
                "iteration": 0,
                "created_at": time.time(),
            }
        ],
    }
    values.update(changes)
    return IterationOutcome(**values)


async def test_claims_take_priority_then_due_time_then_age(app: Taskloom) -> None:
    svc = app.service
    # The oldest run, due last (a runAt in the past would be taken as now).
    delayed = await svc.trigger(Job.id, priority=0, delay=5)
    low_old = await svc.trigger(Job.id, priority=0)
    high = await svc.trigger(Job.id, priority=5)
    low_new = await svc.trigger(Job.id, priority=0)
    later = time.time() + 10  # every run due by then

    async def claim_one() -> list[str]:
        rows = await app.database.run_write(Claim("w", 1, later, later + 30, [Job.id]))
        return [row["id"] for row in rows]

    order = [await claim_one() for _ in range(5)]
    assert order == [[high.id], [low_old.id], [low_new.id], [delayed.id], []]


async def test_a_claim_leases_only_due_runs_of_known_definitions(app: Taskloom) -> None:
    due = await app.service.trigger(Job.id)
    later = await app.service.trigger(Job.id, delay=60)
    other = await app.service.trigger(Unloaded.id)
    before = time.time()
    assert await claim(app, "worker-a", lease=30) == [due.id]
    run = await app.service.get(due.id)
    assert run.status is TaskStatus.RUNNING
    assert run.worker_id == "worker-a"
    assert run.started_at is not None and run.started_at.timestamp() >= before - 1

    def lease(conn: Connection) -> float:
        query = select(runs.c.lease_expires_at).where(runs.c.id == due.id)
        return float(conn.execute(query).scalar_one())

    assert await app.database.read(lease) == pytest.approx(before + 30, abs=2)
    assert (await app.service.get(later.id)).status is TaskStatus.PENDING
    assert (await app.service.get(other.id)).status is TaskStatus.PENDING


async def test_concurrent_claims_never_take_a_run_twice(app: Taskloom) -> None:
    made = await app.service.trigger_many(Job.id, [{} for _ in range(30)])
    claimed = await asyncio.gather(*(claim(app, f"w{i}", limit=4) for i in range(10)))
    flat = [run_id for batch in claimed for run_id in batch]
    assert len(flat) == len(set(flat)) == 30
    assert set(flat) == {r.id for r in made}


async def test_an_outcome_is_saved_only_by_the_lease_holder(app: Taskloom) -> None:
    run = await app.service.trigger(Job.id)
    assert await claim(app, "holder") == [run.id]
    assert await save(app, outcome(run.id, "intruder")) is False
    still = await app.service.get(run.id)
    assert (still.status, still.worker_id) == (TaskStatus.RUNNING, "holder")
    assert (await app.service.logs(run.id)).items == []

    assert await save(app, outcome(run.id, "holder")) is True
    done = await app.service.get(run.id)
    assert (done.status, done.output, done.worker_id) == (
        TaskStatus.SUCCEEDED,
        {"by": "holder"},
        None,
    )
    assert [e.message for e in (await app.service.logs(run.id)).items] == ["from holder"]
    # Saving again (e.g. a duplicate) is refused: the run is not RUNNING any more.
    assert await save(app, outcome(run.id, "holder")) is False


async def test_a_worker_that_lost_its_lease_cannot_save(app: Taskloom) -> None:
    run = await app.service.trigger(Job.id)
    assert await claim(app, "slow", lease=-1) == [run.id]  # already expired
    rescued = await app.database.run_write(RescueExpired(time.time(), 3))
    assert [(r.run_id, r.status) for r in rescued] == [(run.id, "PENDING")]
    assert await save(app, outcome(run.id, "slow")) is False

    def stored(conn: Connection) -> tuple[str, str | None]:
        row = conn.execute(select(runs.c.status, runs.c.worker_id).where(runs.c.id == run.id))
        status, worker = row.one()
        return status, worker

    assert await app.database.read(stored) == ("PENDING", None)


async def test_rescue_leaves_live_leases_alone(app: Taskloom) -> None:
    live = await app.service.trigger(Job.id)
    assert await claim(app, "alive", lease=60) == [live.id]
    dead = await app.service.trigger(Job.id)
    assert await claim(app, "dead", lease=-1) == [dead.id]
    rescued = await app.database.run_write(RescueExpired(time.time(), 3))
    assert [r.run_id for r in rescued] == [dead.id]
    assert (await app.service.get(live.id)).status is TaskStatus.RUNNING
    assert await app.database.run_write(RescueExpired(time.time(), 3)) == []


async def test_outcomes_of_many_runs_share_one_batch(app: Taskloom) -> None:
    made = await app.service.trigger_many(Job.id, [{} for _ in range(20)])
    assert len(await claim(app, "batcher", limit=20)) == 20
    saved = await asyncio.gather(*(save(app, outcome(r.id, "batcher")) for r in made))
    assert saved == [True] * 20
    for run in made:
        assert (await app.service.get(run.id)).status is TaskStatus.SUCCEEDED


async def test_a_failing_write_fails_alone_and_as_a_store_error(app: Taskloom) -> None:
    existing = await app.service.trigger(Job.id, delay=60)
    now = time.time()
    duplicate = new_run_row(run_id=existing.id, definition_id=Job.id, input={}, now=now, run_at=now)
    fresh = new_run_row(definition_id=Job.id, input={}, now=now, run_at=now + 60)

    def insert_duplicate(conn: Connection) -> None:
        conn.execute(insert(runs).values(**duplicate))

    results = await asyncio.gather(
        app.database.write_fn(insert_duplicate),
        app.database.run_write(InsertRuns([fresh])),
        return_exceptions=True,
    )
    assert isinstance(results[0], StoreError)
    assert results[0].code == "INTERNAL_SERVER_ERROR"
    assert results[1] is None
    assert (await app.service.get(fresh["id"])).status is TaskStatus.PENDING
    assert await app.service.count_runs() == 2


async def test_a_failing_read_is_a_store_error(app: Taskloom) -> None:
    def broken(conn: Connection) -> Any:
        return conn.exec_driver_sql("SELECT no_such_column FROM task_runs").all()

    with pytest.raises(StoreError, match="read failed"):
        await app.database.read(broken)


async def test_a_batch_of_outcomes_isolates_one_that_cannot_be_written(app: Taskloom) -> None:
    made = await app.service.trigger_many(Job.id, [{} for _ in range(3)])
    assert len(await claim(app, "saver", limit=3)) == 3
    now = time.time()
    # A child whose id is taken: its parent's outcome cannot be written.
    clash = new_run_row(run_id=made[0].id, definition_id=Job.id, input={}, now=now, run_at=now)
    outcomes = [
        outcome(made[0].id, "saver"),
        outcome(made[1].id, "saver", children=[clash]),
        outcome(made[2].id, "intruder"),
    ]
    saved = await app.database.run_write(FinishIterations(outcomes))
    assert saved[0] is True
    assert isinstance(saved[1], Exception)
    assert saved[2] is False
    statuses = [(await app.service.get(run.id)).status for run in made]
    assert statuses == [TaskStatus.SUCCEEDED, TaskStatus.RUNNING, TaskStatus.RUNNING]


async def test_a_lost_lease_in_a_batch_writes_nothing_of_its_outcome(app: Taskloom) -> None:
    """On SQLite the batch is first written with each lease checked by its
    UPDATE; one lost lease rolls that back and the batch is written again
    for the held runs only, with their logs and history records."""
    made = await app.service.trigger_many(Job.id, [{} for _ in range(3)])
    assert len(await claim(app, "saver", limit=3)) == 3
    history = {"attempt": 0, "status": "SUCCEEDED", "started_at": time.time()}
    outcomes = [
        outcome(
            run.id,
            worker,
            history={
                **history,
                "run_id": run.id,
                "finished_at": time.time(),
                "output": {"by": worker},
                "error_message": None,
                "error_code": None,
                "error_data": None,
            },
        )
        for run, worker in zip(made, ["saver", "intruder", "saver"], strict=True)
    ]
    assert await app.database.run_write(FinishIterations(outcomes)) == [True, False, True]
    for run, status, logs in zip(
        made,
        [TaskStatus.SUCCEEDED, TaskStatus.RUNNING, TaskStatus.SUCCEEDED],
        [["from saver"], [], ["from saver"]],
        strict=True,
    ):
        assert (await app.service.get(run.id)).status is status
        assert [e.message for e in (await app.service.logs(run.id)).items] == logs
        results = await app.service.history(run.id)
        assert [r.output for r in results] == ([{"by": "saver"}] if logs else [])


async def test_rows_with_nones_in_different_columns_keep_their_values_and_order(
    app: Taskloom,
) -> None:
    # On SQLite a None is sent as a NULL literal (server/store/sqlite/compiled.py), so
    # rows with Nones in different columns go as separate statements.
    now = time.time()
    rows = []
    for i in range(6):
        row = new_run_row(definition_id=Job.id, input={"i": i}, now=now, run_at=now)
        row["name"] = f"run {i}" if i % 2 else None
        row["created_by"] = "tester" if i % 3 == 0 else None
        rows.append(row)
    await app.database.run_write(InsertRuns(rows))
    claimed = await claim(app, "nulls", limit=6)
    if app.settings.database_url.startswith("sqlite"):
        assert claimed == [row["id"] for row in rows]  # ties go by insertion order
    else:
        assert sorted(claimed) == sorted(row["id"] for row in rows)
    for row in rows:
        view = await app.service.get(row["id"])
        assert (view.name, view.created_by, view.input) == (
            row["name"],
            row["created_by"],
            row["input"],
        )

    failed = outcome(rows[0]["id"], "nulls", status="FAILED", error_message="boom", output=None)
    progressed = outcome(rows[1]["id"], "nulls", progress=(3.0, None, "steps"))
    plain = outcome(rows[2]["id"], "nulls", status_message="fine")
    assert await app.database.run_write(FinishIterations([failed, progressed, plain])) == [True] * 3
    first, second, third = [await app.service.get(row["id"]) for row in rows[:3]]
    assert first.error is not None and first.error.message == "boom"
    assert first.error.code is None and first.output is None
    assert second.error is None and second.progress is not None
    assert (second.progress.current, second.progress.total) == (3.0, None)
    assert second.progress.units == "steps" and second.status_message is None
    assert third.status_message == "fine" and third.output == {"by": "nulls"}

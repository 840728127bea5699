"""Each claim of a run carries its own token (`claims`, counted up by every
claim), and an outcome is saved only against the claim that produced it.

The bug this holds: a live worker's run was rescued while a write lock
outlasted its lease, the same worker claimed it again, and both executions'
outcomes were saved, since the guard asked only for RUNNING and the worker's
id. Store-level, on both databases."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from taskloom.definitions import TaskController, TaskDefinition, TaskStatus
from taskloom.server.store.claims import Claim
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.leases import RescueExpired
from taskloom.server.store.models import logs, runs
from taskloom.server.store.outcomes import FinishIterations
from taskloom.server.taskloom import Taskloom

WORKER = "host:1:abcdef"


class Job(TaskDefinition[Any]):
    id = "token-job"

    async def run(self, controller: TaskController[Any]) -> Any:
        return None


def outcome(run_id: str, claim: int, message: str) -> IterationOutcome:
    now = time.time()
    return IterationOutcome(
        run_id=run_id,
        worker_id=WORKER,
        claim=claim,
        status=TaskStatus.SUCCEEDED.value,
        state={},
        iterations=1,
        attempt=0,
        run_at=now,
        now=now,
        output={"by": message},
        finished=True,
        clear_request=True,
        logs=[
            {
                "run_id": run_id,
                "level": "INFO",
                "message": message,
                "data": None,
                "iteration": 0,
                "created_at": now,
            }
        ],
    )


async def claim(app: Taskloom, lease: float) -> list[RowMapping]:
    now = time.time()
    return await app.database.run_write(Claim(WORKER, 10, now, now + lease, [Job.id]))


async def test_the_first_claims_outcome_is_refused_once_the_same_worker_claimed_again(
    make_app: Any,
) -> None:
    app: Taskloom = await make_app(Job, worker=False)
    run = await app.service.trigger(Job.id)
    [first] = await claim(app, lease=-1.0)  # committed with its lease already over
    assert first["claims"] == 1
    rescued = await app.database.run_write(RescueExpired(time.time(), max_losses=3))
    assert [r.run_id for r in rescued] == [run.id]
    [second] = await claim(app, lease=30.0)  # the same worker, claiming again
    assert second["claims"] == 2

    stale = outcome(run.id, first["claims"], "from the rescued execution")
    current = outcome(run.id, second["claims"], "from the current claim")
    assert await app.database.run_write(FinishIterations([stale])) == [False]
    assert await app.database.run_write(FinishIterations([current])) == [True]
    # Saved once, whichever order the two outcomes arrive in.
    assert await app.database.run_write(FinishIterations([stale])) == [False]

    done = await app.service.get(run.id)
    assert (done.status, done.output) == (TaskStatus.SUCCEEDED, {"by": "from the current claim"})

    def messages(conn: Connection) -> list[str]:
        query = select(logs.c.message).where(logs.c.run_id == run.id).order_by(logs.c.id)
        return [m for (m,) in conn.execute(query)]

    lines = await app.database.read(messages)
    assert lines.count("from the current claim") == 1
    assert "from the rescued execution" not in lines


async def test_a_batch_with_one_stale_claim_saves_the_others(make_app: Any) -> None:
    app: Taskloom = await make_app(Job, worker=False)
    one = await app.service.trigger(Job.id)
    two = await app.service.trigger(Job.id)
    first = {row["id"]: row["claims"] for row in await claim(app, lease=-1.0)}
    await app.database.run_write(RescueExpired(time.time(), max_losses=3))
    again = {row["id"]: row["claims"] for row in await claim(app, lease=30.0)}
    batch = [
        outcome(one.id, first[one.id], "stale"),
        outcome(two.id, again[two.id], "current"),
    ]
    assert await app.database.run_write(FinishIterations(batch)) == [False, True]

    def statuses(conn: Connection) -> dict[str, str]:
        query = select(runs.c.id, runs.c.status, runs.c.claims)
        return {i: f"{s}/{c}" for i, s, c in conn.execute(query)}

    assert await app.database.read(statuses) == {one.id: "RUNNING/2", two.id: "SUCCEEDED/2"}


async def test_a_claim_reckons_its_lease_when_it_is_applied(make_app: Any) -> None:
    """The worker's claim takes its clock again when it is committed: a
    lease reckoned before a long wait for the lock is not committed already
    over."""
    app: Taskloom = await make_app(Job, worker=False)
    await app.service.trigger(Job.id)
    asked = time.time() - 120  # as if it had waited two minutes for the lock
    op = Claim(WORKER, 1, asked, asked + 30, [Job.id], clock=app.database.clock)
    [row] = await app.database.run_write(op)

    def lease(conn: Connection) -> float:
        query = select(runs.c.lease_expires_at).where(runs.c.id == row["id"])
        return float(conn.execute(query).scalar_one())

    assert await app.database.read(lease) > time.time() + 20

"""Leases: renewal by the worker that holds them, rescue when they expire,
and release when a worker shuts down (transitions.renew, rescue_expired,
release)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from taskloom.definitions.records import LogLevel
from taskloom.server.store import transitions
from taskloom.server.store.committed import RunsMoved
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import logs, results, runs
from taskloom.server.store.transitions import FAILED, PENDING, RUNNING


class RenewLeases(WriteOp[int]):
    """Extends the leases of the runs a worker is running now. `run_ids`
    limits it to those: a run the worker holds but no longer runs (its
    outcome could not be saved) must lose its lease so rescue can act."""

    def __init__(self, worker_id: str, until: float, run_ids: list[str] | None = None) -> None:
        self.worker_id = worker_id
        self.until = until
        self.run_ids = run_ids

    def apply(self, conn: Connection) -> int:
        result = conn.execute(transitions.renew(self.worker_id, self.until, self.run_ids))
        return int(result.rowcount)


@dataclass(frozen=True)
class Rescued:
    run_id: str
    status: str


class RescueExpired(WriteOp[list[Rescued]]):
    """Runs whose worker stopped renewing go back to PENDING, or fail with
    WORKER_LOST after `max_losses` losses (`per_definition`: the definitions
    that set their own number, `TaskDefinition.lease_losses`)."""

    def __init__(
        self, now: float, max_losses: int, per_definition: Mapping[str, int] | None = None
    ) -> None:
        self.now = now
        self.max_losses = max_losses
        self.per_definition = per_definition or {}

    def apply(self, conn: Connection) -> list[Rescued]:
        c = runs.c
        query = select(
            c.id,
            c.worker_id,
            c.lease_losses,
            c.iterations,
            c.attempt,
            c.attempt_started_at,
            c.definition_id,
        ).where(c.status == RUNNING, c.lease_expires_at < self.now)
        if conn.dialect.name == "postgresql":
            # Workers of other processes rescue too: each expired run once.
            query = query.with_for_update(skip_locked=True)
        expired = conn.execute(query).all()
        rescued: list[Rescued] = []
        for run_id, worker_id, losses, iteration, attempt, attempt_started, defn in expired:
            lost = losses + 1
            failed = lost >= self.per_definition.get(defn, self.max_losses)
            conn.execute(transitions.rescue_expired(run_id, lost, failed, self.now))
            if failed:  # a finished attempt: it joins the result history
                conn.execute(
                    insert(results).values(
                        run_id=run_id,
                        attempt=attempt,
                        status=FAILED,
                        started_at=attempt_started,
                        finished_at=self.now,
                        error_message=f"the run lost its worker {lost} times",
                        error_code="WORKER_LOST",
                    )
                )
            message = f"lease expired: worker {worker_id} stopped renewing it; " + (
                "run failed (WORKER_LOST)" if failed else "run waits for a worker again"
            )
            conn.execute(
                insert(logs).values(
                    run_id=run_id,
                    level=(LogLevel.ERROR if failed else LogLevel.WARNING).value,
                    message=message,
                    data={"worker_id": worker_id, "losses": lost},
                    iteration=iteration,
                    created_at=self.now,
                )
            )
            rescued.append(Rescued(run_id, FAILED if failed else PENDING))
        return rescued

    def committed(self, result: list[Rescued]) -> RunsMoved | None:
        return RunsMoved([(r.run_id, r.status) for r in result], due=True) if result else None


class ReleaseRuns(WriteOp[list[str]]):
    """A stopping worker hands back the runs it could not finish in time."""

    def __init__(
        self, worker_id: str, run_ids: list[str], now: float, due: float | None = None
    ) -> None:
        self.worker_id = worker_id
        self.run_ids = run_ids
        self.now = now
        self.due = now if due is None else due

    def apply(self, conn: Connection) -> list[str]:
        statement = transitions.release(self.worker_id, self.run_ids, self.now, self.due)
        released: list[tuple[str, int]] = [(row[0], row[1]) for row in conn.execute(statement)]
        if released:
            conn.execute(
                insert(logs),
                [
                    {
                        "run_id": run_id,
                        "level": LogLevel.WARNING.value,
                        "message": (
                            "worker stopped: iteration interrupted, run waits for a worker again"
                        ),
                        "data": {"worker_id": self.worker_id},
                        "iteration": iteration,
                        "created_at": self.now,
                    }
                    for run_id, iteration in released
                ],
            )
        return [run_id for run_id, _ in released]

    def committed(self, result: list[str]) -> RunsMoved | None:
        return RunsMoved([(run_id, PENDING) for run_id in result], due=True) if result else None


def pending_requests(conn: Connection, worker_id: str) -> dict[str, str]:
    """Abort or pause requests on the runs this worker holds."""
    rows = conn.execute(
        select(runs.c.id, runs.c.requested).where(
            runs.c.worker_id == worker_id,
            runs.c.status == RUNNING,
            runs.c.requested.is_not(None),
        )
    )
    return {run_id: request for run_id, request in rows}

"""Every change of a run's status, one named operation each, one portable
statement (SQLAlchemy Core) each: what can make a run FAILED is read here.

The write operations around them (claims.py, outcomes.py, run_requests.py,
leases.py, deletion.py) add what goes with a transition: the checks that
answer a caller, log lines, history records. The SQLite adapter keeps
hand-shaped forms of `claim` and `finish_iteration` (server/store/sqlite/),
held to these statements by equivalence tests. See docs/architecture.md,
"Where each transition lives".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Delete, Update, bindparam, case, delete, func, update
from sqlalchemy.sql.dml import ReturningUpdate

from taskloom.definitions.records import TaskStatus
from taskloom.server.store.models import logs, results, runs

# Plain strings, as the drivers bind them fastest (an enum member costs
# sqlite3 an adapter lookup per value).
PENDING = TaskStatus.PENDING.value
RUNNING = TaskStatus.RUNNING.value
PAUSED = TaskStatus.PAUSED.value
FAILED = TaskStatus.FAILED.value
ABORTED = TaskStatus.ABORTED.value
FINISHED = tuple(status.value for status in TaskStatus if status.is_terminal)

# What the engine reads of a claimed run: a claim returns these columns
# only, a third of the row, on every path.
CLAIMED = (
    runs.c.id,
    runs.c.definition_id,
    runs.c.name,
    runs.c.requested,
    runs.c.input,
    runs.c.state,
    runs.c.iterations,
    runs.c.attempt,
    runs.c.attempt_started_at,
    runs.c.simulate,
    runs.c.parent_id,
    runs.c.created_by,
    runs.c.concurrency_key,
    runs.c.claims,
)


def claim(
    *where: ColumnElement[bool], worker_id: str, now: float, lease_until: float
) -> ReturningUpdate[Any]:
    """PENDING -> RUNNING: the runs matching `where` (chosen PENDING runs),
    leased to `worker_id` (also kept as `last_worker_id`, which outlives the
    lease) until `lease_until`, each under a new claim token (`claims`
    counted up); returns their CLAIMED columns."""
    return (
        update(runs)
        .where(*where)
        .values(
            status=RUNNING,
            worker_id=worker_id,
            last_worker_id=worker_id,
            lease_expires_at=lease_until,
            claims=runs.c.claims + 1,
            started_at=func.coalesce(runs.c.started_at, now),
            attempt_started_at=func.coalesce(runs.c.attempt_started_at, now),
            updated_at=now,
        )
        .returning(*CLAIMED)
    )


# RUNNING -> the status the engine's lifecycle chose (server/engine/
# lifecycle.py): SUCCEEDED, FAILED or ABORTED (finished), PAUSED, or PENDING
# (a continue_, or waiting for a retry: a new attempt, due at `b_run_at`).
# Only while the claim that produced the outcome still holds the run: its
# worker, and its token (`claims`), so that an execution whose lease was
# rescued saves nothing even when the same worker claimed the run again.
# Its parameters come from outcomes.finish_params.
FINISH_ITERATION = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        runs.c.status == RUNNING,
        runs.c.worker_id == bindparam("b_worker_id"),
        runs.c.claims == bindparam("b_claim"),
    )
    .values(
        status=bindparam("b_status"),
        state=bindparam("b_state"),
        output=bindparam("b_output"),
        error_message=bindparam("b_error_message"),
        error_code=bindparam("b_error_code"),
        error_data=bindparam("b_error_data"),
        iterations=bindparam("b_iterations"),
        attempt=bindparam("b_attempt"),
        run_at=bindparam("b_run_at"),
        finished_at=bindparam("b_finished_at"),
        attempt_started_at=case(
            (bindparam("b_new_attempt"), None), else_=runs.c.attempt_started_at
        ),
        updated_at=bindparam("b_now"),
        worker_id=None,
        lease_expires_at=None,
        requested=case((bindparam("b_clear_request"), None), else_=runs.c.requested),
        has_errors=runs.c.has_errors | bindparam("b_has_errors"),
        progress_current=func.coalesce(bindparam("b_progress_current"), runs.c.progress_current),
        progress_total=case(
            (bindparam("b_progress_set"), bindparam("b_progress_total")),
            else_=runs.c.progress_total,
        ),
        progress_units=case(
            (bindparam("b_progress_set"), bindparam("b_progress_units")),
            else_=runs.c.progress_units,
        ),
        status_message=func.coalesce(bindparam("b_status_message"), runs.c.status_message),
    )
)


def abort(run_id: str, message: str, now: float) -> Update:
    """PENDING or PAUSED -> ABORTED, at once."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_((PENDING, PAUSED)))
        .values(
            status=ABORTED,
            requested=None,
            finished_at=now,
            updated_at=now,
            error_message=message,
            error_code=ABORTED,
        )
    )


def request(run_id: str, wanted: str, now: float) -> Update:
    """RUNNING stays RUNNING: an abort or pause is asked of its iteration,
    which `finish_iteration` honours."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == RUNNING)
        .values(requested=wanted, updated_at=now)
    )


def pause(run_id: str, now: float) -> Update:
    """PENDING -> PAUSED."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == PENDING)
        .values(status=PAUSED, requested=None, updated_at=now)
    )


def resume(run_id: str, run_at: float, now: float) -> Update:
    """PAUSED -> PENDING, due at `run_at`."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == PAUSED)
        .values(status=PENDING, requested=None, run_at=run_at, updated_at=now)
    )


def retry_by_request(
    run_id: str, attempt: int, now: float, new_input: dict[str, Any] | None
) -> Update:
    """FAILED or ABORTED -> PENDING, as attempt `attempt`, due now."""
    values: dict[str, Any] = {
        "status": PENDING,
        "requested": None,
        "attempt": attempt,
        "attempt_started_at": None,
        "finished_at": None,
        "run_at": now,
        "updated_at": now,
        "worker_id": None,
        "lease_expires_at": None,
        "lease_losses": 0,
        "error_message": None,
        "error_code": None,
        "error_data": None,
        "output": None,
    }
    if new_input is not None:
        values["input"] = new_input
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_((FAILED, ABORTED)))
        .values(**values)
    )


def rescue_expired(run_id: str, losses: int, failed: bool, now: float) -> Update:
    """RUNNING, its lease expired -> PENDING again, or FAILED (WORKER_LOST)
    once it has lost its worker `losses` times and that is too many."""
    values: dict[str, Any] = {
        "status": FAILED if failed else PENDING,
        "worker_id": None,
        "lease_expires_at": None,
        "lease_losses": losses,
        "run_at": now,
        "updated_at": now,
    }
    if failed:
        values |= {
            "finished_at": now,
            "error_message": f"the run lost its worker {losses} times",
            "error_code": "WORKER_LOST",
            "has_errors": True,
        }
    return update(runs).where(runs.c.id == run_id, runs.c.status == RUNNING).values(**values)


def release(worker_id: str, run_ids: list[str], now: float) -> ReturningUpdate[Any]:
    """RUNNING -> PENDING: a stopping worker hands back the runs it holds;
    returns their ids and iterations."""
    return (
        update(runs)
        .where(runs.c.id.in_(run_ids), runs.c.worker_id == worker_id, runs.c.status == RUNNING)
        .values(status=PENDING, worker_id=None, lease_expires_at=None, run_at=now, updated_at=now)
        .returning(runs.c.id, runs.c.iterations)
    )


def renew(worker_id: str, until: float, run_ids: list[str] | None) -> Update:
    """RUNNING stays RUNNING, its lease extended to `until`: the runs
    `worker_id` holds (of `run_ids`, when given)."""
    query = update(runs).where(runs.c.worker_id == worker_id, runs.c.status == RUNNING)
    if run_ids is not None:
        query = query.where(runs.c.id.in_(run_ids))
    return query.values(lease_expires_at=until)


def delete_runs(run_ids: list[str]) -> list[Update | Delete]:
    """A finished run -> gone, with its logs and history; its children stay,
    with no parent. Explicit, so it never depends on foreign-key cascades."""
    return [
        delete(logs).where(logs.c.run_id.in_(run_ids)),
        delete(results).where(results.c.run_id.in_(run_ids)),
        update(runs).where(runs.c.parent_id.in_(run_ids)).values(parent_id=None),
        delete(runs).where(runs.c.id.in_(run_ids), runs.c.status.in_(FINISHED)),
    ]

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

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Delete,
    Float,
    Update,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.sql.dml import ReturningUpdate

from taskloom.definitions.records import TaskStatus, WaitReason
from taskloom.server.store.models import dependencies, logs, results, runs

# Plain strings, as the drivers bind them fastest (an enum member costs
# sqlite3 an adapter lookup per value).
PENDING = TaskStatus.PENDING.value
RUNNING = TaskStatus.RUNNING.value
PAUSED = TaskStatus.PAUSED.value
FAILED = TaskStatus.FAILED.value
ABORTED = TaskStatus.ABORTED.value
SUCCEEDED = TaskStatus.SUCCEEDED.value
FINISHED = tuple(status.value for status in TaskStatus if status.is_terminal)
CHILDREN = WaitReason.CHILDREN.value
DEPENDENCIES = WaitReason.DEPENDENCIES.value
# The due time of a waiting run (9999-12-31): no claim reaches it, so the
# claim needs no condition of its own; `wake` makes it due.
WAITING_RUN_AT = 253402300799.0

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
    runs.c.started_at,
    runs.c.deadline_seconds,
    runs.c.expires_at,
    runs.c.has_dependents,
    runs.c.traceparent,
)


def claim(
    *where: ColumnElement[bool],
    worker_id: str,
    now: float,
    lease_until: float,
    starts_at: float | None = None,
) -> ReturningUpdate[Any]:
    """PENDING -> RUNNING: the runs matching `where` (chosen PENDING runs),
    leased to `worker_id` (also kept as `last_worker_id`, which outlives the
    lease) until `lease_until`, each under a new claim token (`claims`
    counted up); returns their CLAIMED columns. A run not started yet
    starts at `starts_at` (now by default; a rate limit may give the time
    its slot frees, a moment later: store/rate_limits.py)."""
    start = now if starts_at is None else starts_at
    return (
        update(runs)
        .where(*where)
        .values(
            status=RUNNING,
            worker_id=worker_id,
            last_worker_id=worker_id,
            lease_expires_at=lease_until,
            claims=runs.c.claims + 1,
            started_at=func.coalesce(runs.c.started_at, start),
            attempt_started_at=func.coalesce(runs.c.attempt_started_at, start),
            updated_at=now,
        )
        .returning(*CLAIMED)
    )


# RUNNING -> the status the engine's lifecycle chose (server/engine/
# lifecycle.py): SUCCEEDED, FAILED or ABORTED (finished), PAUSED, or PENDING
# (a continue_, or waiting for a retry: a new attempt, due at `b_run_at`;
# or waiting for its children, `b_waiting`, due at WAITING_RUN_AT).
# Only while the claim that produced the outcome still holds the run: its
# worker, and its token (`claims`), so that an execution whose lease was
# rescued saves nothing even when the same worker claimed the run again.
# The holder implies RUNNING (every way out of RUNNING clears `worker_id`),
# and `status` stays out of the condition: on a table never analyzed,
# PostgreSQL then chose the RUNNING-only index over the primary key, every
# running run of every worker per outcome (4x the first drain's UPDATEs).
# Its parameters come from outcomes.finish_params.
FINISH_ITERATION = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
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
        waiting=bindparam("b_waiting"),
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


def abort(run_id: str, message: str, by: str | None, now: float) -> Update:
    """PENDING or PAUSED (waiting or not) -> ABORTED, at once, by `by`."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_((PENDING, PAUSED)))
        .values(
            status=ABORTED,
            requested=None,
            waiting=None,
            finished_at=now,
            updated_at=now,
            error_message=message,
            error_code=ABORTED,
            aborted_by=by,
            abort_reason=message,
        )
    )


def request(
    run_id: str, wanted: str, now: float, *, by: str | None = None, reason: str | None = None
) -> Update:
    """RUNNING stays RUNNING: an abort or pause is asked of its iteration,
    which `finish_iteration` honours (an abort keeps who asked and why)."""
    values: dict[str, Any] = {"requested": wanted, "updated_at": now}
    if by is not None or reason is not None:
        values |= {"aborted_by": by, "abort_reason": reason}
    return update(runs).where(runs.c.id == run_id, runs.c.status == RUNNING).values(**values)


def _unfinished_child() -> ColumnElement[bool]:
    child = runs.alias("child")
    return exists().where(child.c.parent_id == runs.c.id, child.c.status.not_in(FINISHED))


def _unmet_dependency() -> ColumnElement[bool]:
    """A dependency of the run that has not SUCCEEDED (or is gone)."""
    dependency = runs.alias("dependency")
    found = select(dependency.c.status).where(dependency.c.id == dependencies.c.depends_on)
    status = found.scalar_subquery()
    return exists().where(
        dependencies.c.run_id == runs.c.id,
        func.coalesce(status, "") != SUCCEEDED,
    )


def wait_over(reason: str) -> ColumnElement[bool]:
    """A run waiting for `reason` whose wait is over: every child has ended
    (CHILDREN), or every dependency has SUCCEEDED (DEPENDENCIES)."""
    unmet = _unfinished_child() if reason == CHILDREN else _unmet_dependency()
    return and_(runs.c.waiting == reason, runs.c.status.in_((PENDING, PAUSED)), ~unmet)


def wake(
    reason: str, now: float | BindParameter[float], *among: ColumnElement[bool]
) -> ReturningUpdate[Any]:
    """PENDING (or PAUSED) waiting for `reason` -> due now, once the wait is
    over (`wait_over`), of the runs matching `among` (all by default);
    returns their ids and statuses. One statement: of two that race, only
    one finds the run still waiting, so it wakes once."""
    return (
        update(runs)
        .where(wait_over(reason), *among)
        .values(
            waiting=None,
            # Not before it was due anyway (`trigger(after=..., delay=...)`).
            run_at=case((runs.c.scheduled_at > now, runs.c.scheduled_at), else_=now),
            updated_at=now,
        )
        .returning(runs.c.id, runs.c.status)
    )


# Made once: it runs with every outcome batch that has a success, and made
# each time (with its cache key) it took a PostgreSQL worker a tenth of its
# time in a drain.
_RELEASE_DEPENDENTS = wake(
    DEPENDENCIES,
    bindparam("now", type_=Float),
    runs.c.id.in_(
        select(dependencies.c.run_id).where(
            dependencies.c.depends_on.in_(bindparam("succeeded", expanding=True))
        )
    ),
)


def release_dependents(
    succeeded: Sequence[str], now: float
) -> tuple[ReturningUpdate[Any], dict[str, Any]]:
    """PENDING (or PAUSED) waiting for its DEPENDENCIES -> due now, for the
    runs that depend on one of `succeeded` and whose every dependency has
    SUCCEEDED: `wake` narrowed to them, written with the outcomes that
    made them SUCCEEDED (store/outcomes.py), so a dependent is due the
    moment its last dependency's success commits; the statement and its
    parameters. The SQLite writer process takes the same statement by hand
    (sqlite/release_sql.py)."""
    return _RELEASE_DEPENDENTS, {"now": now, "succeeded": list(succeeded)}


def fail_unstarted(run_id: str, code: str, message: str, now: float) -> Update:
    """PENDING or PAUSED (waiting or not) -> FAILED without another
    iteration: DEPENDENCY_FAILED, EXPIRED or DEADLINE (store/waits.py)."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status.in_((PENDING, PAUSED)))
        .values(
            status=FAILED,
            requested=None,
            waiting=None,
            finished_at=now,
            updated_at=now,
            error_message=message,
            error_code=code,
            has_errors=True,
        )
    )


def pause(run_id: str, now: float) -> Update:
    """PENDING -> PAUSED."""
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == PENDING)
        .values(status=PAUSED, requested=None, updated_at=now)
    )


def resume(run_id: str, run_at: float, now: float) -> Update:
    """PAUSED -> PENDING, due at `run_at`; a run still waiting (for its
    children or dependencies) keeps waiting."""
    due = case((runs.c.waiting.is_not(None), runs.c.run_at), else_=run_at)
    return (
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == PAUSED)
        .values(status=PENDING, requested=None, run_at=due, updated_at=now)
    )


def retry_by_request(
    run_id: str,
    attempt: int,
    now: float,
    new_input: dict[str, Any] | None,
    *,
    has_dependencies: bool = False,
) -> Update:
    """FAILED or ABORTED -> PENDING, as attempt `attempt`, due now; a run
    triggered `after` others waits for them again (DEPENDENCIES), so that it
    runs once they have SUCCEEDED (they may have been retried too)."""
    values: dict[str, Any] = {
        "status": PENDING,
        "requested": None,
        "waiting": DEPENDENCIES if has_dependencies else None,
        "aborted_by": None,
        "abort_reason": None,
        "attempt": attempt,
        "attempt_started_at": None,
        "finished_at": None,
        "run_at": WAITING_RUN_AT if has_dependencies else now,
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


def release(
    worker_id: str, run_ids: list[str], now: float, due: float | None = None
) -> ReturningUpdate[Any]:
    """RUNNING -> PENDING: a stopping worker hands back the runs it holds,
    due at `due` (now by default); returns their ids and iterations."""
    run_at = now if due is None else due
    return (
        update(runs)
        .where(runs.c.id.in_(run_ids), runs.c.worker_id == worker_id, runs.c.status == RUNNING)
        .values(
            status=PENDING, worker_id=None, lease_expires_at=None, run_at=run_at, updated_at=now
        )
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
        # What it waited for; runs that wait for it see it gone (store/waits.py).
        delete(dependencies).where(dependencies.c.run_id.in_(run_ids)),
        update(runs).where(runs.c.parent_id.in_(run_ids)).values(parent_id=None),
        delete(runs).where(runs.c.id.in_(run_ids), runs.c.status.in_(FINISHED)),
    ]

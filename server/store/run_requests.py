"""What callers ask of a run: abort, pause, resume, retry, a new priority.

Each checks the run's current state inside the writer's transaction, so it
cannot race a claim or an outcome, answers a refusal with Conflict, and
changes the status through its transition (transitions.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict
from taskloom.server.store import transitions
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.history import store_last_attempt
from taskloom.server.store.models import results, runs
from taskloom.server.store.run_logs import log_line
from taskloom.server.store.run_rows import load_run
from taskloom.server.store.transitions import (
    ABORTED,
    FAILED,
    FINISHED,
    PAUSED,
    PENDING,
    RUNNING,
)

ABORT_REQUEST = "ABORT"
PAUSE_REQUEST = "PAUSE"


class Abort(WriteOp[tuple[str, RowMapping]]):
    """PENDING or PAUSED: ABORTED at once ("aborted"). RUNNING: the abort is
    requested and honoured after the iteration ("requested"). Refused for a
    run of a definition that is not `abortable`."""

    urgent = True

    def __init__(
        self, run_id: str, message: str | None, now: float, *, abortable: bool = True
    ) -> None:
        self.run_id = run_id
        self.message = message
        self.now = now
        self.abortable = abortable

    def apply(self, conn: Connection) -> tuple[str, RowMapping]:
        row = load_run(conn, self.run_id)
        status = row["status"]
        if status not in FINISHED and not self.abortable:
            raise Conflict(f"runs of {row['definition_id']!r} cannot be aborted")
        if status in (PENDING, PAUSED):
            message = self.message or "aborted before it ran"
            conn.execute(transitions.abort(self.run_id, message, self.now))
            conn.execute(
                insert(results).values(
                    run_id=self.run_id,
                    attempt=row["attempt"],
                    status=ABORTED,
                    started_at=row["attempt_started_at"],
                    finished_at=self.now,
                    error_message=message,
                    error_code=ABORTED,
                )
            )
            log_line(conn, row, self.now, f"aborted: {message}")
            return "aborted", load_run(conn, self.run_id)
        if status == RUNNING:
            if row["requested"] != ABORT_REQUEST:
                conn.execute(transitions.request(self.run_id, ABORT_REQUEST, self.now))
                reason = self.message or "no reason given"
                log_line(conn, row, self.now, f"abort requested: {reason}")
            return "requested", load_run(conn, self.run_id)
        raise Conflict(f"cannot abort a run that is already {status}")


class Pause(WriteOp[tuple[str, RowMapping]]):
    """PENDING: PAUSED at once ("paused"). RUNNING: the pause is requested
    and honoured after the iteration ("requested")."""

    urgent = True

    def __init__(self, run_id: str, now: float, *, pausable: bool = True) -> None:
        self.run_id = run_id
        self.now = now
        self.pausable = pausable

    def apply(self, conn: Connection) -> tuple[str, RowMapping]:
        row = load_run(conn, self.run_id)
        status, requested = row["status"], row["requested"]
        if status in (PENDING, RUNNING) and not self.pausable:
            raise Conflict(f"runs of {row['definition_id']!r} cannot be paused")
        if status == PENDING:
            conn.execute(transitions.pause(self.run_id, self.now))
            log_line(conn, row, self.now, "paused")
            return "paused", load_run(conn, self.run_id)
        if status == RUNNING and requested is None:
            conn.execute(transitions.request(self.run_id, PAUSE_REQUEST, self.now))
            log_line(conn, row, self.now, "pause requested")
            return "requested", load_run(conn, self.run_id)
        if status == RUNNING:
            raise Conflict(f"the run already has a {requested} request")
        raise Conflict(f"cannot pause a run that is {status}")


class Resume(WriteOp[RowMapping]):
    """PAUSED: PENDING again, due now (or at its later due time)."""

    urgent = True

    def __init__(self, run_id: str, now: float) -> None:
        self.run_id = run_id
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] != PAUSED:
            raise Conflict(f"cannot resume a run that is {row['status']}")
        run_at = max(self.now, float(row["run_at"]))
        conn.execute(transitions.resume(self.run_id, run_at, self.now))
        log_line(conn, row, self.now, "resumed")
        return load_run(conn, self.run_id)


class RetryByRequest(WriteOp[RowMapping]):
    """FAILED or ABORTED: PENDING again as the next attempt; state, history
    and logs are kept. `new_input` (from `on_retry`) replaces the input."""

    urgent = True

    def __init__(self, run_id: str, now: float, new_input: dict[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.now = now
        self.new_input = new_input

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] not in (FAILED, ABORTED):
            raise Conflict(f"only FAILED or ABORTED runs can be retried, not {row['status']}")
        store_last_attempt(conn, row)  # the run row is about to start over
        attempt = row["attempt"] + 1
        conn.execute(transitions.retry_by_request(self.run_id, attempt, self.now, self.new_input))
        log_line(conn, row, self.now, f"retried by request as attempt {attempt}")
        return load_run(conn, self.run_id)


class SetPriority(WriteOp[RowMapping]):
    """A run that has not finished gets a new priority (its status stays)."""

    urgent = True

    def __init__(self, run_id: str, priority: int, now: float) -> None:
        self.run_id = run_id
        self.priority = priority
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] in FINISHED:
            raise Conflict(f"cannot change the priority of a run that is {row['status']}")
        conn.execute(
            update(runs)
            .where(runs.c.id == self.run_id)
            .values(priority=self.priority, updated_at=self.now)
        )
        return load_run(conn, self.run_id)

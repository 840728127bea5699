"""Run control beyond abort: pause, resume, retry, priority, deletion and
retention, appending logs from backend code, and idempotent triggers.

Like `control.Abort`, each operation checks the run's current state inside
the writer's transaction, so it cannot race a claim or an outcome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from taskloom.definitions.errors import Conflict
from taskloom.server.store.batch import WriteOp
from taskloom.server.store.control import load_run
from taskloom.server.store.history import store_last_attempt
from taskloom.server.store.models import logs, results, runs

FINISHED = ("SUCCEEDED", "FAILED", "ABORTED")


def _log(conn: Connection, row: RowMapping, now: float, message: str, level: str = "INFO") -> None:
    conn.execute(
        insert(logs).values(
            run_id=row["id"],
            level=level,
            message=message,
            data=None,
            iteration=row["iterations"],
            created_at=now,
        )
    )


def _set(conn: Connection, run_id: str, **values: Any) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))


class Pause(WriteOp[tuple[str, RowMapping]]):
    """PENDING: PAUSED at once ("paused"). RUNNING: the pause is requested
    and honoured after the iteration ("requested")."""

    def __init__(self, run_id: str, now: float, *, pausable: bool = True) -> None:
        self.run_id = run_id
        self.now = now
        self.pausable = pausable

    def apply(self, conn: Connection) -> tuple[str, RowMapping]:
        row = load_run(conn, self.run_id)
        status, requested = row["status"], row["requested"]
        if status in ("PENDING", "RUNNING") and not self.pausable:
            raise Conflict(f"runs of {row['definition_id']!r} cannot be paused")
        if status == "PENDING":
            _set(conn, self.run_id, status="PAUSED", requested=None, updated_at=self.now)
            _log(conn, row, self.now, "paused")
            return "paused", load_run(conn, self.run_id)
        if status == "RUNNING" and requested is None:
            _set(conn, self.run_id, requested="PAUSE", updated_at=self.now)
            _log(conn, row, self.now, "pause requested")
            return "requested", load_run(conn, self.run_id)
        if status == "RUNNING":
            raise Conflict(f"the run already has a {requested} request")
        raise Conflict(f"cannot pause a run that is {status}")


class Resume(WriteOp[RowMapping]):
    """PAUSED: PENDING again, due now (or at its later due time)."""

    def __init__(self, run_id: str, now: float) -> None:
        self.run_id = run_id
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] != "PAUSED":
            raise Conflict(f"cannot resume a run that is {row['status']}")
        _set(
            conn,
            self.run_id,
            status="PENDING",
            requested=None,
            run_at=max(self.now, float(row["run_at"])),
            updated_at=self.now,
        )
        _log(conn, row, self.now, "resumed")
        return load_run(conn, self.run_id)


class Retry(WriteOp[RowMapping]):
    """FAILED or ABORTED: PENDING again as the next attempt; state, history
    and logs are kept. `new_input` (from `on_retry`) replaces the input."""

    def __init__(self, run_id: str, now: float, new_input: dict[str, Any] | None = None) -> None:
        self.run_id = run_id
        self.now = now
        self.new_input = new_input

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] not in ("FAILED", "ABORTED"):
            raise Conflict(f"only FAILED or ABORTED runs can be retried, not {row['status']}")
        store_last_attempt(conn, row)  # the run row is about to start over
        values: dict[str, Any] = {
            "status": "PENDING",
            "requested": None,
            "attempt": row["attempt"] + 1,
            "attempt_started_at": None,
            "finished_at": None,
            "run_at": self.now,
            "updated_at": self.now,
            "worker_id": None,
            "lease_expires_at": None,
            "lease_losses": 0,
            "error_message": None,
            "error_code": None,
            "error_data": None,
            "output": None,
        }
        if self.new_input is not None:
            values["input"] = self.new_input
        _set(conn, self.run_id, **values)
        _log(conn, row, self.now, f"retried by request as attempt {row['attempt'] + 1}")
        return load_run(conn, self.run_id)


class SetPriority(WriteOp[RowMapping]):
    def __init__(self, run_id: str, priority: int, now: float) -> None:
        self.run_id = run_id
        self.priority = priority
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] in FINISHED:
            raise Conflict(f"cannot change the priority of a run that is {row['status']}")
        _set(conn, self.run_id, priority=self.priority, updated_at=self.now)
        return load_run(conn, self.run_id)


def _delete_runs(conn: Connection, run_ids: list[str]) -> None:
    """Deletes runs with their logs and history; their children stay, with
    no parent. Explicit, so it never depends on foreign-key cascades."""
    conn.execute(delete(logs).where(logs.c.run_id.in_(run_ids)))
    conn.execute(delete(results).where(results.c.run_id.in_(run_ids)))
    conn.execute(update(runs).where(runs.c.parent_id.in_(run_ids)).values(parent_id=None))
    conn.execute(delete(runs).where(runs.c.id.in_(run_ids)))


class DeleteRun(WriteOp[RowMapping]):
    """Deletes one finished run; a run that has not ended is a Conflict."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] not in FINISHED:
            raise Conflict(f"only finished runs can be deleted; this one is {row['status']}")
        _delete_runs(conn, [self.run_id])
        return row


class PurgeFinished(WriteOp[int]):
    """Deletes up to `limit` runs that finished before `before`: one short
    transaction per batch, so the write lock is never held for long."""

    def __init__(self, before: float, limit: int) -> None:
        self.before = before
        self.limit = limit

    def apply(self, conn: Connection) -> int:
        ids = list(
            conn.execute(
                select(runs.c.id)
                .where(runs.c.status.in_(FINISHED), runs.c.finished_at < self.before)
                .order_by(runs.c.finished_at)
                .limit(self.limit)
            ).scalars()
        )
        if ids:
            _delete_runs(conn, ids)
        return len(ids)


class AppendLog(WriteOp[dict[str, Any]]):
    """A log line written by backend code to any run; ERROR sets has_errors."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def apply(self, conn: Connection) -> dict[str, Any]:
        run = load_run(conn, self.row["run_id"])
        line = dict(self.row, iteration=run["iterations"])
        line["id"] = conn.execute(insert(logs).returning(logs.c.id), [line]).scalar_one()
        if line["level"] == "ERROR" and not run["has_errors"]:
            _set(conn, run["id"], has_errors=True)
        return line


class InsertIdempotent(WriteOp[tuple[bool, RowMapping]]):
    """Inserts a run unless one with the same definition and idempotency key
    exists; returns (created, the run). The unique index decides between
    concurrent callers (also across processes): the loser reads the winner."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def _existing(self, conn: Connection) -> RowMapping | None:
        query = select(runs).where(
            runs.c.definition_id == self.row["definition_id"],
            runs.c.idempotency_key == self.row["idempotency_key"],
        )
        return conn.execute(query).mappings().first()

    def apply(self, conn: Connection) -> tuple[bool, RowMapping]:
        existing = self._existing(conn)
        if existing is not None:
            return False, existing
        try:
            with conn.begin_nested():
                conn.execute(insert(runs), [self.row])
        except IntegrityError:
            existing = self._existing(conn)
            if existing is None:
                raise
            return False, existing
        return True, load_run(conn, self.row["id"])


_PROGRESS_UPDATE = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        runs.c.worker_id == bindparam("b_worker"),
        runs.c.status == "RUNNING",
    )
    .values(
        progress_current=func.coalesce(bindparam("b_current"), runs.c.progress_current),
        progress_total=case(
            (bindparam("b_progress_set"), bindparam("b_total")), else_=runs.c.progress_total
        ),
        progress_units=case(
            (bindparam("b_progress_set"), bindparam("b_units")), else_=runs.c.progress_units
        ),
        status_message=func.coalesce(bindparam("b_message"), runs.c.status_message),
        updated_at=bindparam("b_now"),
    )
)


class FlushProgress(WriteOp[None]):
    """Progress and status messages of iterations still running, written
    while they run (throttled by the worker); merged into one executemany.
    Only the worker holding the run's lease may write them."""

    def __init__(self, worker_id: str, rows: list[dict[str, Any]], now: float) -> None:
        self.params = [dict(row, b_worker=worker_id, b_now=now) for row in rows]

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        params = [p for op in ops for p in op.params]
        if params:
            conn.execute(_PROGRESS_UPDATE, params)
        return [None] * len(ops)

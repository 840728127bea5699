"""State changes asked for from outside a run: abort (and, later, pause,
resume, retry). Each checks the run's current state inside the writer's
transaction, so it cannot race a claim or an outcome of this process."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict, NotFound
from taskloom.server.store.batch import WriteOp
from taskloom.server.store.models import logs, results, runs


def load_run(conn: Connection, run_id: str) -> RowMapping:
    query = select(runs).where(runs.c.id == run_id)
    if conn.dialect.name == "postgresql":
        # Other processes claim and finish runs too: hold the row until commit.
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no task run with id {run_id!r}")
    return row


class Abort(WriteOp[tuple[str, RowMapping]]):
    """PENDING or PAUSED: ABORTED at once ("aborted"). RUNNING: the abort is
    requested and honoured after the iteration ("requested")."""

    def __init__(self, run_id: str, message: str | None, now: float) -> None:
        self.run_id = run_id
        self.message = message
        self.now = now

    def apply(self, conn: Connection) -> tuple[str, RowMapping]:
        row = load_run(conn, self.run_id)
        status = row["status"]
        if status in ("PENDING", "PAUSED"):
            message = self.message or "aborted before it ran"
            values: dict[str, Any] = {
                "status": "ABORTED",
                "requested": None,
                "finished_at": self.now,
                "updated_at": self.now,
                "error_message": message,
                "error_code": "ABORTED",
            }
            conn.execute(update(runs).where(runs.c.id == self.run_id).values(**values))
            conn.execute(
                insert(results).values(
                    run_id=self.run_id,
                    attempt=row["attempt"],
                    status="ABORTED",
                    started_at=row["attempt_started_at"],
                    finished_at=self.now,
                    error_message=message,
                    error_code="ABORTED",
                )
            )
            self._log(conn, row, f"aborted: {message}")
            return "aborted", load_run(conn, self.run_id)
        if status == "RUNNING":
            if row["requested"] != "ABORT":
                conn.execute(
                    update(runs)
                    .where(runs.c.id == self.run_id)
                    .values(requested="ABORT", updated_at=self.now)
                )
                self._log(conn, row, f"abort requested: {self.message or 'no reason given'}")
            return "requested", load_run(conn, self.run_id)
        raise Conflict(f"cannot abort a run that is already {status}")

    def _log(self, conn: Connection, row: RowMapping, message: str) -> None:
        conn.execute(
            insert(logs).values(
                run_id=self.run_id,
                level="INFO",
                message=message,
                data=None,
                iteration=row["iterations"],
                created_at=self.now,
            )
        )

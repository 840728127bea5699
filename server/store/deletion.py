"""Deleting finished runs: one by request, or the oldest in batches
(retention), through `transitions.delete_runs`."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import runs
from taskloom.server.store.run_rows import load_run
from taskloom.server.store.transitions import FINISHED, delete_runs


def _delete(conn: Connection, run_ids: list[str]) -> None:
    for statement in delete_runs(run_ids):
        conn.execute(statement)


class DeleteRun(WriteOp[RowMapping]):
    """Deletes one finished run; a run that has not ended is a Conflict."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def apply(self, conn: Connection) -> RowMapping:
        row = load_run(conn, self.run_id)
        if row["status"] not in FINISHED:
            raise Conflict(f"only finished runs can be deleted; this one is {row['status']}")
        _delete(conn, [self.run_id])
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
            _delete(conn, ids)
        return len(ids)

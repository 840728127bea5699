"""A run triggered `after` others: its row, its dependencies and the mark on
each run it depends on (`has_dependents`), in one transaction.

The dependencies must exist when the run is made, and a run's
dependencies are never added to later: a new run can depend only on older
ones, so no cycle can be made. While one has not SUCCEEDED the run waits,
PENDING and not due (`waiting` DEPENDENCIES); store/waits.py wakes it, or
fails it with DEPENDENCY_FAILED naming the run that ended otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, update

from taskloom.definitions.errors import NotFound
from taskloom.server.store.committed import NewRuns
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import dependencies, runs
from taskloom.server.store.transitions import DEPENDENCIES, SUCCEEDED, WAITING_RUN_AT


class InsertAfter(WriteOp[dict[str, Any]]):
    """Inserts `row`, a new run that starts once every run of `after` has
    SUCCEEDED; returns the row as written. NotFound names a run of `after`
    that does not exist."""

    urgent = True

    def __init__(self, row: dict[str, Any], after: Sequence[str]) -> None:
        self.row = dict(row)
        self.after = list(dict.fromkeys(after))

    def apply(self, conn: Connection) -> dict[str, Any]:
        query = select(runs.c.id, runs.c.status).where(runs.c.id.in_(self.after))
        found: dict[str, str] = {run_id: status for run_id, status in conn.execute(query)}
        for run_id in self.after:
            if run_id not in found:
                raise NotFound(f"run {run_id} (in after) not found")
        if any(status != SUCCEEDED for status in found.values()):
            self.row |= {"waiting": DEPENDENCIES, "run_at": WAITING_RUN_AT}
        conn.execute(insert(runs), [self.row])
        conn.execute(
            insert(dependencies),
            [{"run_id": self.row["id"], "depends_on": run_id} for run_id in self.after],
        )
        conn.execute(
            update(runs)
            .where(runs.c.id.in_(self.after), runs.c.has_dependents.is_(False))
            .values(has_dependents=True)
        )
        return self.row

    def committed(self, result: dict[str, Any]) -> NewRuns:
        return NewRuns([result])


def dependencies_of(conn: Connection, run_id: str) -> list[str]:
    """The runs `run_id` was triggered after, by id."""
    query = select(dependencies.c.depends_on).where(dependencies.c.run_id == run_id)
    return list(conn.execute(query.order_by(dependencies.c.depends_on)).scalars())

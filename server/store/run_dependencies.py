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

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import NotFound
from taskloom.server.store.committed import NewRuns
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import dependencies, runs
from taskloom.server.store.queries import first_of_each
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


def dependencies_for_runs(
    conn: Connection, run_ids: Sequence[str], created_by: str | None = None
) -> dict[str, list[RowMapping]]:
    """The runs each of `run_ids` was triggered after, oldest first; only
    those `created_by` triggered when it is given (a user's view). At most
    filters.MAX_AFTER each."""
    query = (
        select(runs, dependencies.c.run_id.label("dependent_id"))
        .join(dependencies, dependencies.c.depends_on == runs.c.id)
        .where(dependencies.c.run_id.in_(list(run_ids)))
        .order_by(dependencies.c.run_id, runs.c.id)
    )
    if created_by is not None:
        query = query.where(runs.c.created_by == created_by)
    grouped: dict[str, list[RowMapping]] = {run_id: [] for run_id in run_ids}
    for row in conn.execute(query).mappings():
        grouped[row["dependent_id"]].append(row)
    return grouped


def dependents_for_runs(
    conn: Connection, run_ids: Sequence[str], first: int, created_by: str | None = None
) -> dict[str, list[RowMapping]]:
    """Up to `first + 1` runs triggered after each of `run_ids`, oldest
    first (those `created_by` triggered, when it is given)."""
    joined = select(runs).join(dependencies, dependencies.c.run_id == runs.c.id)
    return first_of_each(conn, joined, dependencies.c.depends_on, run_ids, first, created_by)


def count_dependents_for_runs(
    conn: Connection, run_ids: Sequence[str], created_by: str | None = None
) -> dict[str, int]:
    """How many runs were triggered after each of `run_ids` (those
    `created_by` triggered, when it is given)."""
    on = dependencies.c.depends_on
    query = (
        select(on, func.count())
        .join(runs, runs.c.id == dependencies.c.run_id)
        .where(on.in_(list(run_ids)))
        .group_by(on)
    )
    if created_by is not None:
        query = query.where(runs.c.created_by == created_by)
    counts = {str(run_id): int(n) for run_id, n in conn.execute(query)}
    return {run_id: counts.get(run_id, 0) for run_id in run_ids}


def dependencies_of(conn: Connection, run_id: str) -> list[str]:
    """The runs `run_id` was triggered after, by id."""
    query = select(dependencies.c.depends_on).where(dependencies.c.run_id == run_id)
    return list(conn.execute(query.order_by(dependencies.c.depends_on)).scalars())

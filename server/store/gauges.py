"""What the metrics' gauges read from the database at scrape time: the
unfinished runs of the whole cluster, by status, and the due ones."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from taskloom.definitions.records import TaskStatus
from taskloom.server.store.models import has_status, runs

UNFINISHED = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.PAUSED)


@dataclass(frozen=True)
class QueueFigures:
    by_status: dict[str, int]
    due: int
    delayed: int
    oldest_due_at: float | None


def queue_figures(conn: Connection, now: float) -> QueueFigures:
    """One indexed query over unfinished runs (finished ones are never read)."""
    c = runs.c
    is_due = (c.status == TaskStatus.PENDING) & (c.run_at <= now)
    query = (
        select(
            c.status,
            func.count(),
            func.sum(case((is_due, 1), else_=0)),
            func.min(case((is_due, c.run_at), else_=None)),
        )
        .where(has_status(*UNFINISHED))
        .group_by(c.status)
    )
    by_status: dict[str, int] = dict.fromkeys(UNFINISHED, 0)
    due, oldest = 0, None
    for status, count, due_count, oldest_due in conn.execute(query):
        by_status[status] = int(count)
        due += int(due_count or 0)
        if oldest_due is not None:
            oldest = float(oldest_due) if oldest is None else min(oldest, float(oldest_due))
    return QueueFigures(by_status, due, by_status[TaskStatus.PENDING] - due, oldest)

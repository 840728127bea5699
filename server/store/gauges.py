"""What the metrics' gauges read from the database at scrape time: the
unfinished runs of the whole cluster, by status as clients read it (a
started run between iterations counts RUNNING, and also as waiting), and
the due ones (every run a claim may take, started or not)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, case, func, select

from taskloom.definitions.records import TaskStatus
from taskloom.definitions.run_view import shown_status
from taskloom.server.store.models import has_status, runs

UNFINISHED = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.PAUSED)


@dataclass(frozen=True)
class QueueFigures:
    by_status: dict[str, int]
    due: int
    delayed: int
    oldest_due_at: float | None
    # RUNNING runs (of by_status) waiting for their next iteration
    waiting: int = 0


def queue_figures(conn: Connection, now: float) -> QueueFigures:
    """One indexed query over unfinished runs (finished ones are never read)."""
    c = runs.c
    is_due = (c.status == TaskStatus.PENDING) & (c.run_at <= now)
    started = c.started_at.is_not(None)
    query = (
        select(
            c.status,
            started,
            func.count(),
            func.sum(case((is_due, 1), else_=0)),
            func.min(case((is_due, c.run_at), else_=None)),
        )
        .where(has_status(*UNFINISHED))
        .group_by(c.status, started)
    )
    by_status: dict[str, int] = dict.fromkeys(UNFINISHED, 0)
    due, queued, waiting, oldest = 0, 0, 0, None
    for stored, has_started, count, due_count, oldest_due in conn.execute(query):
        status = shown_status(stored, 0.0 if has_started else None)
        by_status[status] += int(count)
        if stored == TaskStatus.PENDING:
            queued += int(count)
            waiting += int(count) if has_started else 0
        due += int(due_count or 0)
        if oldest_due is not None:
            oldest = float(oldest_due) if oldest is None else min(oldest, float(oldest_due))
    return QueueFigures(by_status, due, queued - due, oldest, waiting)

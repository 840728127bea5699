"""Reads for the stream of every run's changes (service/run_stream.py):
runs by id, or changed since a time, each with whether it meets a filter."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, or_, select, true, tuple_
from sqlalchemy.engine import RowMapping

from taskloom.definitions.filters import RunFilter
from taskloom.definitions.records import TERMINAL_STATUSES, TaskStatus
from taskloom.server.store.models import has_status, runs
from taskloom.server.store.queries import run_conditions

UNFINISHED = tuple(s.value for s in TaskStatus if s not in TERMINAL_STATUSES)


def _matches(where: RunFilter) -> ColumnElement[bool]:
    conditions = run_conditions(where)
    return and_(*conditions) if conditions else true()


def runs_by_id(conn: Connection, run_ids: Sequence[str], where: RunFilter) -> list[RowMapping]:
    """The runs among `run_ids` that still exist, each with `matches`."""
    query = select(runs, _matches(where).label("matches")).where(runs.c.id.in_(list(run_ids)))
    return list(conn.execute(query).mappings())


def runs_changed_since(
    conn: Connection, after: tuple[float, str], where: RunFilter, limit: int
) -> list[RowMapping]:
    """Runs written after `after` (updated_at, id), in that order, each with
    `matches`. Spelled so both databases find them through indexes: the
    unfinished ones through the claim and running-key indexes, the finished
    ones through the finish-time index (no index on updated_at: every write
    would have to maintain it)."""
    since = after[0]
    changed = or_(
        and_(has_status(*UNFINISHED), runs.c.updated_at >= since),
        runs.c.finished_at >= since,
    )
    query = (
        select(runs, _matches(where).label("matches"))
        .where(changed, tuple_(runs.c.updated_at, runs.c.id) > tuple_(*after))
        .order_by(runs.c.updated_at, runs.c.id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())

"""A run's row as the operations that change it read it first."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import NotFound
from taskloom.server.store.models import runs


def load_run(conn: Connection, run_id: str) -> RowMapping:
    """The run's row; NotFound if there is none. On PostgreSQL the row is
    held until commit: other processes claim and finish runs too."""
    query = select(runs).where(runs.c.id == run_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"no task run with id {run_id!r}")
    return row

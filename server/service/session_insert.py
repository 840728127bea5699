"""The transactional trigger: a new run inserted through the caller's own
SQLAlchemy/SQLModel session, so it commits or rolls back with the caller's
writes, and is announced only once the caller commits (the store's
session_runs.py)."""

from __future__ import annotations

from typing import Any

from taskloom.server.store.database import Database
from taskloom.server.store.session_runs import insert_in_session as insert_through


class DeferredInsert:
    """Handed to `trigger(session=...)` by the synchronous twin: the row is
    validated on the service's loop and inserted in the caller's thread."""

    row: dict[str, Any] | None = None


async def insert_in_session(database: Database, session: Any, row: dict[str, Any]) -> None:
    """Inserts the run through `session` (AsyncSession or Session, or the
    sync twin's `DeferredInsert`, which only takes the row)."""
    if isinstance(session, DeferredInsert):  # the sync twin inserts it itself
        session.row = row
        return
    await insert_through(database, session, [row])

"""New runs inserted through a caller's own SQLAlchemy session (the
transactional trigger): they commit or roll back with the caller's writes,
and are announced (the database's on-commit callback, store/committed.py)
only once the caller's session commits."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from taskloom.server.store.committed import NewRuns
from taskloom.server.store.database import Database
from taskloom.server.store.models import runs


def _announce_on_commit(
    database: Database,
    session: Session,
    rows: Sequence[dict[str, Any]],
    loop: asyncio.AbstractEventLoop,
) -> None:
    settled: list[bool] = []

    def committed(_session: Session) -> None:
        if not settled:
            settled.append(True)
            if database.on_commit is not None:
                loop.call_soon_threadsafe(database.on_commit, NewRuns(rows))

    def rolled_back(_session: Session, _previous: Any = None) -> None:
        settled.append(False)

    # Listeners cannot be removed while the session dispatches them, so each
    # fires once and the first of the two settles the insert.
    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_soft_rollback", rolled_back, once=True)


def insert_in_sync_session(
    database: Database,
    session: Session,
    rows: Sequence[dict[str, Any]],
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Inserts the runs through a synchronous session, from the caller's
    thread; announced on `loop` once the session commits."""
    _announce_on_commit(database, session, rows, loop)
    session.execute(insert(runs), list(rows))


async def insert_in_session(
    database: Database, session: Session | AsyncSession, rows: Sequence[dict[str, Any]]
) -> None:
    """Inserts the runs through `session` (an AsyncSession, or a Session of
    this thread)."""
    loop = asyncio.get_running_loop()
    if isinstance(session, AsyncSession):
        _announce_on_commit(database, session.sync_session, rows, loop)
        await session.execute(insert(runs), list(rows))
    elif isinstance(session, Session):
        insert_in_sync_session(database, session, rows, loop)
    else:
        raise TypeError("session must be a SQLAlchemy Session or AsyncSession")

"""The transactional trigger: a new run inserted through the caller's own
SQLAlchemy/SQLModel session, so it commits or rolls back with the caller's
writes, and is announced to workers only once the caller commits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from taskloom.server.store.models import runs


class DeferredInsert:
    """Handed to `trigger(session=...)` by the synchronous twin: the row is
    validated on the service's loop and inserted in the caller's thread."""

    row: dict[str, Any] | None = None


def announce_on_commit(
    sync_session: Session, loop: asyncio.AbstractEventLoop, announce: Callable[[], None]
) -> None:
    """Calls `announce` on `loop` once the session commits; nothing on rollback."""
    settled: list[bool] = []

    def committed(_session: Session) -> None:
        if not settled:
            settled.append(True)
            loop.call_soon_threadsafe(announce)

    def rolled_back(_session: Session, _previous: Any = None) -> None:
        settled.append(False)

    # Listeners cannot be removed while the session dispatches them, so each
    # fires once and the first of the two settles the trigger.
    event.listen(sync_session, "after_commit", committed, once=True)
    event.listen(sync_session, "after_soft_rollback", rolled_back, once=True)


def insert_in_sync_session(
    session: Session,
    row: dict[str, Any],
    loop: asyncio.AbstractEventLoop,
    announce: Callable[[], None],
) -> None:
    """Inserts the run through a synchronous session, from the caller's thread."""
    announce_on_commit(session, loop, announce)
    session.execute(insert(runs), [row])


async def insert_in_session(
    session: Any, row: dict[str, Any], announce: Callable[[], None]
) -> None:
    """Inserts the run through `session` (AsyncSession or Session, or the
    sync twin's `DeferredInsert`, which only takes the row)."""
    if isinstance(session, DeferredInsert):  # the sync twin inserts it itself
        session.row = row
        return
    loop = asyncio.get_running_loop()
    if isinstance(session, AsyncSession):
        announce_on_commit(session.sync_session, loop, announce)
        await session.execute(insert(runs), [row])
    elif isinstance(session, Session):
        insert_in_sync_session(session, row, loop, announce)
    else:
        raise TypeError("session must be a SQLAlchemy Session or AsyncSession")

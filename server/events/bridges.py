"""The bridge that carries one process's hub to the others sharing its
database: PostgreSQL carries every event (pg_bridge.py); a SQLite file only
wakes the worker when another process committed (sqlite_watch.py), and
subscriptions poll."""

from __future__ import annotations

from typing import Protocol

from taskloom.server.events.hub import EventHub
from taskloom.server.events.pg_bridge import PgEventBridge
from taskloom.server.events.sqlite_watch import CommitWatch
from taskloom.server.store.database import Database


class Bridge(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...


async def bridge(database: Database, hub: EventHub) -> Bridge | None:
    """The started bridge for `database`; None when nothing shares it."""
    found: Bridge | None = None
    if database.dialect == "postgresql":
        found = PgEventBridge(database, hub)
    else:
        counter = database.commit_counter()
        if counter is not None:
            found = CommitWatch(counter, hub)
    if found is not None:
        await found.start()
    return found

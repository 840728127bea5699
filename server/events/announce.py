"""What the store committed, told to the hub: the database's on-commit
callback (server/store/committed.py), connected by the composition root."""

from __future__ import annotations

from taskloom.definitions.records import TaskStatus
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.store.committed import Committed, OnCommit

PENDING = TaskStatus.PENDING.value


def announcer(hub: EventHub) -> OnCommit:
    """New runs: subscribers hear they were triggered, workers that runs
    are due."""

    def announce(committed: Committed) -> None:
        for row in committed.rows:
            data = {"definition_id": row["definition_id"], "triggered": True}
            hub.publish(Event("run", row["id"], PENDING, data))
        hub.notify_due()

    return announce

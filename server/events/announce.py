"""What the store committed, told to the hub: the database's on-commit
callback (server/store/committed.py), connected by the composition root."""

from __future__ import annotations

from taskloom.definitions.records import TaskStatus
from taskloom.server.events.hub import Event, EventHub
from taskloom.server.store.committed import Committed, NewRuns, OnCommit

PENDING = TaskStatus.PENDING.value


def announcer(hub: EventHub) -> OnCommit:
    """New runs: subscribers hear they were triggered, workers that runs
    are due. Runs moved (released, rescued): subscribers hear their new
    status, workers that runs are due when some are."""

    def announce(committed: Committed) -> None:
        if isinstance(committed, tuple):
            for each in committed:
                announce(each)
            return
        if isinstance(committed, NewRuns):
            for row in committed.rows:
                data = {"definition_id": row["definition_id"], "triggered": True}
                hub.publish(Event("run", row["id"], PENDING, data))
            hub.notify_due()
            return
        for run_id, status in committed.changes:
            hub.publish(Event("run", run_id, status))
        if committed.due:
            hub.notify_due()

    return announce

"""Built-in maintenance: the retention definition `taskloom.retention`.

Scheduled daily (03:17 UTC), it deletes finished runs older than
`TASKLOOM_RETENTION_DAYS` (default 30) with their logs and history, in
batches of `PURGE_BATCH` runs, one short transaction each, so it never
holds a long write lock. Only admins (and the system) may trigger or
retry it: it deletes every owner's runs. It is added to the registry when
`TASKLOOM_MAINTENANCE` is on, which by default it is unless the embedding
code passes its own `registry=` (then `maintenance=True` opts in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from taskloom.definitions.controller import TaskController
from taskloom.definitions.definition import TaskDefinition

RETENTION_ID = "taskloom.retention"
RETENTION_SCHEDULE = "17 3 * * *"

Purge = Callable[[float], Awaitable[int]]


def retention_definition(purge: Purge, days: float) -> type[TaskDefinition[Any]]:
    """The retention definition of one running Taskloom."""

    class Retention(TaskDefinition[Any]):
        id = RETENTION_ID
        title = "Delete old finished runs"
        description = (
            f"Deletes finished runs older than {days:g} days with their logs and "
            "history, in small batches."
        )
        schedule = RETENTION_SCHEDULE
        # It deletes every owner's runs: only admins (and the system) trigger it.
        roles = frozenset({"admin"})
        pausable = False
        max_results = 30

        async def run(self, controller: TaskController[Any]) -> Any:
            deleted = await purge(days)
            controller.log.info(
                f"deleted {deleted} finished runs older than {days:g} days",
                data={"deleted": deleted, "older_than_days": days},
            )
            return {"deleted": deleted, "older_than_days": days}

    return Retention

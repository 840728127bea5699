"""A definition's `on_abort` hook, called when the service aborts a run
that was not running (a running one is aborted, and its hook called, by
the worker after its iteration). A failing hook is logged to the run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from taskloom.definitions.records import LogLevel, RunError, TaskStatus
from taskloom.server.engine import hooks
from taskloom.server.store.run_logs import InsertLogs

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database


async def call_on_abort(database: Database, registry: Registry, row: Any) -> None:
    """Calls the `on_abort` of the aborted run's definition, if it has one."""
    definition = registry.find(row["definition_id"])
    if definition is None:
        return
    instance = definition()
    if not hooks.overrides(instance, "on_abort"):
        return
    info = hooks.run_info(
        row,
        attempt=row["attempt"],
        status=TaskStatus.ABORTED,
        state=row["state"],
        error=RunError(row["error_message"] or "", TaskStatus.ABORTED),
    )
    try:
        await hooks.call(instance.on_abort, info)
    except Exception as exc:
        message, data = hooks.describe(exc, definition)
        line = {
            "run_id": row["id"],
            "level": LogLevel.ERROR.value,
            "message": f"hook on_abort failed: {message}",
            "data": data,
            "iteration": row["iterations"],
            "created_at": database.clock(),
        }
        await database.run_write(InsertLogs([line]))

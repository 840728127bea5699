"""The schedules as the service shows and switches them: the definitions
that declare `schedule = "<cron>"`, and turning one on or off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskloom.definitions.errors import NotFound
from taskloom.definitions.views import ScheduleView
from taskloom.server.auth.identity import Actor, require_admin
from taskloom.server.engine.scheduler import next_tick
from taskloom.server.store.schedules import SetScheduleEnabled, list_schedules

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database


class ScheduleSwitches:
    def __init__(self, database: Database, registry: Registry) -> None:
        self.database = database
        self.registry = registry

    async def schedules(self) -> list[ScheduleView]:
        rows = await self.database.read(list_schedules)
        return [ScheduleView.from_row(r) for r in rows if r["definition_id"] in self.registry]

    async def set_enabled(
        self, definition_id: str, enabled: bool, actor: Actor | None
    ) -> ScheduleView:
        require_admin(actor, "change schedules")
        definition = self.registry.get(definition_id)
        expression = getattr(definition, "schedule", None)
        if not expression:
            raise NotFound(f"definition {definition_id!r} has no schedule")
        timezone = str(getattr(definition, "schedule_timezone", "UTC") or "UTC")
        now = self.database.clock()
        row = await self.database.run_write(
            SetScheduleEnabled(definition_id, enabled, next_tick(expression, timezone, now), now)
        )
        return ScheduleView.from_row(row)

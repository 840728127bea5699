"""The schedules as the service shows and switches them: the definitions
that declare `schedule = "<cron>"`, turning one on or off, and the
schedules made through the API (create, delete), each with its own input."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from taskloom.definitions.controller import new_id
from taskloom.definitions.errors import Conflict, InvalidInput, NotFound
from taskloom.definitions.views import ScheduleView
from taskloom.server.auth.identity import Actor, require_admin, require_operator
from taskloom.server.engine.scheduler import check_expression, next_tick, zone
from taskloom.server.store.api_schedules import CreateSchedule, DeleteSchedule, list_api_schedules
from taskloom.server.store.schedules import SetScheduleEnabled, list_schedules

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database

PrepareInput = Callable[[Any, Any], Awaitable[dict[str, Any]]]


class ScheduleSwitches:
    def __init__(self, database: Database, registry: Registry, prepare_input: PrepareInput) -> None:
        self.database = database
        self.registry = registry
        self.prepare_input = prepare_input

    async def schedules(self) -> list[ScheduleView]:
        def read(conn: Any) -> tuple[list[Any], list[Any]]:
            return list_schedules(conn), list_api_schedules(conn)

        declared, made = await self.database.read(read)
        found = [
            ScheduleView.from_row(r, self.registry.get(r["definition_id"]).schedule_input)
            for r in declared
            if r["definition_id"] in self.registry
        ]
        return found + [
            ScheduleView.from_api_row(r) for r in made if r["definition_id"] in self.registry
        ]

    async def create(
        self,
        definition_id: str,
        expression: str,
        timezone: str,
        input: Any,
        actor: Actor | None,
    ) -> ScheduleView:
        """A schedule of `definition_id` (admins and developers): one run per
        tick of `expression` in `timezone`, with `input` (checked now as a
        trigger would check it). A bad expression, time zone or input is
        InvalidInput naming its field."""
        require_operator(actor, "create schedules")
        definition = self.registry.get(definition_id)
        try:
            check_expression(expression, "UTC")
        except ValueError as exc:
            raise _field_error("expression", str(exc)) from None
        try:
            zone(timezone)
        except ValueError as exc:
            raise _field_error("timezone", str(exc)) from None
        data = await self.prepare_input(definition, input)
        now = self.database.clock()
        row = {
            "id": new_id(),
            "definition_id": definition.id,
            "expression": expression,
            "timezone": timezone,
            "input": data,
            "next_run_at": next_tick(expression, timezone, now),
            "last_run_at": None,
            "created_at": now,
            "created_by": None if actor is None else actor.owner,
        }
        made: RowMapping = await self.database.run_write(CreateSchedule(row))
        return ScheduleView.from_api_row(made)

    async def delete(self, schedule_id: str, actor: Actor | None) -> ScheduleView:
        """Deletes a schedule made through the API; returns it as it was. A
        definition's own schedule is turned off instead (set_enabled)."""
        require_operator(actor, "delete schedules")
        if schedule_id in self.registry and getattr(
            self.registry.get(schedule_id), "schedule", None
        ):
            raise Conflict(
                f"the schedule of {schedule_id!r} is declared by its definition: "
                "turn it off with setScheduleEnabled"
            )
        gone: RowMapping = await self.database.run_write(DeleteSchedule(schedule_id))
        return ScheduleView.from_api_row(gone)

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
        return ScheduleView.from_row(row, definition.schedule_input)


def _field_error(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"loc": [field], "message": message}])

"""`TaskSchedule`: a cron schedule, a definition's own or one made through
the API."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.views import ScheduleView


@strawberry.type(description="A schedule: one run per due tick.")
class TaskSchedule:
    id: strawberry.ID = strawberry.field(
        description="A definition's own schedule has the definition's id; one made with "
        "createSchedule has its own."
    )
    definition_id: strawberry.ID
    expression: str = strawberry.field(description='A cron expression, e.g. "*/5 * * * *".')
    timezone: str = strawberry.field(description="The time zone the expression is read in.")
    input: JSON = strawberry.field(description="The input of each tick's run.")
    declared: bool = strawberry.field(
        description="The definition's class-level schedule (else made with createSchedule)."
    )
    created_by: str | None
    next_run_at: datetime | None
    last_run_at: datetime | None = strawberry.field(description="The last tick that fired.")
    enabled: bool

    @classmethod
    def of(cls, view: ScheduleView) -> TaskSchedule:
        return cls(
            id=strawberry.ID(view.id),
            definition_id=strawberry.ID(view.definition_id),
            expression=view.expression,
            timezone=view.timezone,
            input=JSON(view.input),
            declared=view.declared,
            created_by=view.created_by,
            next_run_at=view.next_run_at,
            last_run_at=view.last_run_at,
            enabled=view.enabled,
        )

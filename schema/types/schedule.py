"""`TaskSchedule`: a definition's cron schedule."""

from __future__ import annotations

from datetime import datetime

import strawberry

from taskloom.definitions.views import ScheduleView


@strawberry.type(description="A definition's schedule: one run per due tick.")
class TaskSchedule:
    definition_id: strawberry.ID
    expression: str = strawberry.field(description='A cron expression, e.g. "*/5 * * * *".')
    timezone: str = strawberry.field(description="The time zone the expression is read in.")
    next_run_at: datetime | None
    last_run_at: datetime | None = strawberry.field(description="The last tick that fired.")
    enabled: bool

    @classmethod
    def of(cls, view: ScheduleView) -> TaskSchedule:
        return cls(
            definition_id=strawberry.ID(view.definition_id),
            expression=view.expression,
            timezone=view.timezone,
            next_run_at=view.next_run_at,
            last_run_at=view.last_run_at,
            enabled=view.enabled,
        )

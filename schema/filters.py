"""Filter inputs of `taskRuns` and `taskLogs`, turned into the SDK's
`RunFilter` and `LogFilter` that the service's lists take."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.schema.enums import LogLevel, RunRequest, TaskStatus


def epoch(value: datetime | None) -> float | None:
    """A DateTime without a zone is taken as UTC."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


@strawberry.input(description="Runs matching all given conditions.")
class TaskRunFilter:
    definition_id: strawberry.ID | None = None
    status: list[TaskStatus] | None = strawberry.field(
        default=None, description="Any of these statuses."
    )
    parent_id: strawberry.ID | None = None
    name_contains: str | None = strawberry.field(default=None, description="Case-insensitive.")
    has_errors: bool | None = None
    created_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    created_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    started_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    started_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    finished_after: datetime | None = strawberry.field(default=None, description="Inclusive.")
    finished_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    created_by: str | None = strawberry.field(
        default=None,
        description="Triggered by this owner (a `user` token: another owner matches no run).",
    )
    definition_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Any of these definitions."
    )
    requested: list[RunRequest] | None = strawberry.field(
        default=None, description="Runs with one of these requests pending (PAUSE, ABORT)."
    )
    depends_on: strawberry.ID | None = strawberry.field(
        default=None, description="Runs triggered `after` this run (its dependents)."
    )

    def build(self) -> RunFilter:
        return RunFilter(
            definition_ids=None if self.definition_ids is None else tuple(self.definition_ids),
            requested=None if self.requested is None else tuple(r.value for r in self.requested),
            definition_id=self.definition_id,
            statuses=None if self.status is None else tuple(s.value for s in self.status),
            parent_id=self.parent_id,
            name_contains=self.name_contains,
            has_errors=self.has_errors,
            created_after=epoch(self.created_after),
            created_before=epoch(self.created_before),
            started_after=epoch(self.started_after),
            started_before=epoch(self.started_before),
            finished_after=epoch(self.finished_after),
            finished_before=epoch(self.finished_before),
            created_by=self.created_by,
            depends_on=self.depends_on,
        )


@strawberry.input(description="Log lines matching all given conditions.")
class TaskLogFilter:
    run_id: strawberry.ID | None = None
    levels: list[LogLevel] | None = strawberry.field(
        default=None, description="Any of these levels."
    )
    message_contains: str | None = strawberry.field(default=None, description="Case-insensitive.")
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Written at or after (inclusive)."
    )
    to: datetime | None = strawberry.field(default=None, description="Written before (exclusive).")
    period: str | None = strawberry.field(
        default=None,
        description='"today", "yesterday" or a duration back from now such as "2h 30m" or '
        '"15m"; a malformed period is BAD_USER_INPUT.',
    )

    def build(self) -> LogFilter:
        return LogFilter(
            run_id=self.run_id,
            levels=None if self.levels is None else tuple(level.value for level in self.levels),
            message_contains=self.message_contains,
            since=epoch(self.from_),
            until=epoch(self.to),
            period=self.period,
        )

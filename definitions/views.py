"""Read models of log lines, finished attempts and schedules, and the page
every list returns. (A run's: `run_view.py`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from taskloom.definitions.records import LogLevel, RunError, TaskStatus
from taskloom.definitions.run_view import Row, RunView, run_error
from taskloom.definitions.timestamps import exact_datetime, to_datetime

T = TypeVar("T")


@dataclass(frozen=True)
class LogView:
    id: int
    run_id: str
    level: LogLevel
    message: str
    data: Any
    iteration: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Row) -> LogView:
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            level=LogLevel(row["level"]),
            message=row["message"],
            data=row["data"],
            iteration=row["iteration"],
            created_at=exact_datetime(row["created_at"]),
        )


@dataclass(frozen=True)
class ResultView:
    """One finished attempt of a run (its history)."""

    attempt: int
    status: TaskStatus
    started_at: datetime | None
    finished_at: datetime
    output: Any
    error: RunError | None

    @classmethod
    def from_row(cls, row: Row) -> ResultView:
        return cls(
            attempt=row["attempt"],
            status=TaskStatus(row["status"]),
            started_at=to_datetime(row["started_at"]),
            finished_at=exact_datetime(row["finished_at"]),
            output=row["output"],
            error=run_error(row),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursors: list[str]
    has_next: bool

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


@dataclass(frozen=True)
class ScheduleView:
    """A schedule: its cron expression and its next and last ticks. `declared`:
    the definition's class-level `schedule` (its id is the definition's id,
    its input the definition's `schedule_input`); else one made through the
    API (`create_schedule`), with its own id and input."""

    definition_id: str
    expression: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    id: str = ""
    input: dict[str, Any] = field(default_factory=dict)
    declared: bool = True
    created_by: str | None = None

    @classmethod
    def from_row(cls, row: Row, input: dict[str, Any] | None = None) -> ScheduleView:
        """A class-level schedule's row (task_schedules)."""
        return cls(
            definition_id=row["definition_id"],
            expression=row["expression"],
            timezone=row["timezone"],
            enabled=bool(row["enabled"]),
            next_run_at=to_datetime(row["next_run_at"]),
            last_run_at=to_datetime(row["last_run_at"]),
            id=row["definition_id"],
            input=dict(input or {}),
        )

    @classmethod
    def from_api_row(cls, row: Row) -> ScheduleView:
        """A schedule made through the API (api_schedules)."""
        return cls(
            definition_id=row["definition_id"],
            expression=row["expression"],
            timezone=row["timezone"],
            enabled=True,
            next_run_at=to_datetime(row["next_run_at"]),
            last_run_at=to_datetime(row["last_run_at"]),
            id=row["id"],
            input=dict(row["input"] or {}),
            declared=False,
            created_by=row["created_by"],
        )


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action (`abort_many`, `retry_many`) did: the runs it
    changed, at most its limit, and whether more matched its filter."""

    runs: list[RunView]
    has_more: bool

    @property
    def count(self) -> int:
        return len(self.runs)

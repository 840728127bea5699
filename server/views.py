"""Read models handed to backend code and to the GraphQL layer."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import RowMapping

from definitions.records import LogLevel, RunError, RunRequest, TaskStatus

T = TypeVar("T")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(value: float | None) -> datetime | None:
    """Truncated (not rounded) to the microsecond, so a time read back from
    a run works as an inclusive lower / exclusive upper filter bound."""
    return None if value is None else _dt(value)


def to_epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@dataclass(frozen=True)
class ProgressView:
    current: float
    total: float | None
    units: str | None

    @property
    def percent(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(100.0, self.current * 100.0 / self.total))

    @property
    def display(self) -> str | None:
        def n(x: float) -> str:
            return f"{x:g}"

        if self.total and self.units:
            return f"{n(self.current)} of {n(self.total)} {self.units}"
        if self.total:
            return f"{round(self.percent or 0)}%"
        if self.units:
            return f"{n(self.current)} {self.units}"
        return None


@dataclass(frozen=True)
class RunView:
    id: str
    definition_id: str
    name: str | None
    status: TaskStatus
    requested: RunRequest | None
    input: dict[str, Any]
    state: dict[str, Any]
    output: Any
    error: RunError | None
    iterations: int
    attempt: int
    priority: int
    progress: ProgressView | None
    status_message: str | None
    created_at: datetime
    run_at: datetime
    scheduled_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    worker_id: str | None
    parent_id: str | None
    created_by: str | None
    has_errors: bool
    simulate: bool
    idempotency_key: str | None
    # Whether the run's definition allows pausing (`pausable`).
    pausable: bool = True

    @classmethod
    def from_row(cls, row: RowMapping | dict[str, Any], *, pausable: bool = True) -> RunView:
        error = None
        if row["error_message"] is not None or row["error_code"] is not None:
            error = RunError(row["error_message"] or "", row["error_code"], row["error_data"])
        progress = None
        if row["progress_current"] is not None:
            progress = ProgressView(
                row["progress_current"], row["progress_total"], row["progress_units"]
            )
        created, run_at, scheduled, started, finished, updated = _datetimes(
            row["created_at"],
            row["run_at"],
            row["scheduled_at"],
            row["started_at"],
            row["finished_at"],
            row["updated_at"],
        )
        # A frozen dataclass's __init__ sets each of the 27 fields through
        # object.__setattr__, which costs more than the rest of this method:
        # a page of 50 runs is built here, so the fields go in at once.
        view = object.__new__(cls)
        view.__dict__.update(
            id=row["id"],
            definition_id=row["definition_id"],
            name=row["name"],
            status=TaskStatus(row["status"]),
            requested=RunRequest(row["requested"]) if row["requested"] else None,
            input=row["input"] or {},
            state=row["state"] or {},
            output=row["output"],
            error=error,
            iterations=row["iterations"],
            attempt=row["attempt"],
            priority=row["priority"],
            progress=progress,
            status_message=row["status_message"],
            created_at=created,
            run_at=run_at,
            scheduled_at=scheduled,
            started_at=started,
            finished_at=finished,
            updated_at=updated,
            worker_id=row["worker_id"],
            parent_id=row["parent_id"],
            created_by=row["created_by"],
            has_errors=bool(row["has_errors"]),
            simulate=bool(row["simulate"]),
            idempotency_key=row["idempotency_key"],
            pausable=pausable,
        )
        return view

    @property
    def has_ended(self) -> bool:
        return self.status.is_terminal

    @property
    def can_pause(self) -> bool:
        """True exactly when `pause()` would succeed."""
        return (
            self.pausable
            and self.status in (TaskStatus.PENDING, TaskStatus.RUNNING)
            and self.requested is None
        )

    @property
    def can_resume(self) -> bool:
        """True exactly when `resume()` would succeed."""
        return self.status is TaskStatus.PAUSED

    @property
    def can_retry(self) -> bool:
        """True exactly when `retry()` would succeed."""
        return self.status in (TaskStatus.FAILED, TaskStatus.ABORTED)

    @property
    def can_abort(self) -> bool:
        return not self.has_ended and self.requested is not RunRequest.ABORT

    @property
    def waiting_ms(self) -> int:
        """Time spent due but not yet started (so far, if still waiting)."""
        due = self.scheduled_at.timestamp()
        end = self.started_at.timestamp() if self.started_at else _end(self)
        return max(0, round((end - due) * 1000))

    @property
    def duration_ms(self) -> int | None:
        """Running time: so far while it runs, in total once it ended."""
        if self.started_at is None:
            return None
        end = self.finished_at.timestamp() if self.finished_at else time.time()
        return max(0, round((end - self.started_at.timestamp()) * 1000))


def _end(run: RunView) -> float:
    return run.finished_at.timestamp() if run.finished_at else time.time()


def _dt(value: float) -> datetime:
    micros = math.floor(value * 1e6)
    # value * 1e6 may round up to the next whole microsecond; the datetime
    # must not be later than `value`, or it would not work as a bound.
    if micros / 1_000_000 > value:
        micros -= 1
    return _EPOCH + timedelta(microseconds=micros)


def _datetimes(*values: float | None) -> list[Any]:
    """`to_datetime` of each value, converting equal ones once: a run's
    created, scheduled and due times are usually one instant, and so are its
    finished and updated times (datetimes are immutable, so sharing is safe)."""
    converted: dict[float, datetime] = {}
    out: list[datetime | None] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        found = converted.get(value)
        if found is None:
            found = converted[value] = _dt(value)
        out.append(found)
    return out


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
    def from_row(cls, row: RowMapping | dict[str, Any]) -> LogView:
        return cls(
            id=row["id"],
            run_id=row["run_id"],
            level=LogLevel(row["level"]),
            message=row["message"],
            data=row["data"],
            iteration=row["iteration"],
            created_at=_dt(row["created_at"]),
        )


@dataclass(frozen=True)
class ResultView:
    attempt: int
    status: TaskStatus
    started_at: datetime | None
    finished_at: datetime
    output: Any
    error: RunError | None

    @classmethod
    def from_row(cls, row: RowMapping | dict[str, Any]) -> ResultView:
        error = None
        if row["error_message"] is not None or row["error_code"] is not None:
            error = RunError(row["error_message"] or "", row["error_code"], row["error_data"])
        return cls(
            attempt=row["attempt"],
            status=TaskStatus(row["status"]),
            started_at=to_datetime(row["started_at"]),
            finished_at=_dt(row["finished_at"]),
            output=row["output"],
            error=error,
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
    """A scheduled definition: its cron expression and its next and last ticks."""

    definition_id: str
    expression: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping | dict[str, Any]) -> ScheduleView:
        return cls(
            definition_id=row["definition_id"],
            expression=row["expression"],
            timezone=row["timezone"],
            enabled=bool(row["enabled"]),
            next_run_at=to_datetime(row["next_run_at"]),
            last_run_at=to_datetime(row["last_run_at"]),
        )

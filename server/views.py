"""Read models handed to backend code and to the GraphQL layer."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.engine import RowMapping

from taskloom.definitions.records import LogLevel, RunError, RunRequest, TaskStatus

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
    def from_row(cls, row: Row, *, pausable: bool = True) -> RunView:
        # A frozen dataclass's __init__ sets each of the 27 fields through
        # object.__setattr__, which costs more than the rest of this method:
        # the fields go in at once.
        view = object.__new__(cls)
        fields = view.__dict__
        fields.update({name: read(row) for name, read in _READ.items()}, pausable=pausable)
        fields.update(zip(_TIMES, _datetimes(*(row[name] for name in _TIMES)), strict=True))
        return view

    @classmethod
    def deferred(cls, row: Row, *, pausable: bool = True) -> RunView:
        """The view `from_row` makes, each field converted when first read: a
        page of 50 runs whose query selects three fields converts 150 values,
        not 1,350. `row` must not change afterwards (a page's fresh rows)."""
        view = object.__new__(cls)
        view.__dict__.update(_row=row, pausable=pausable)
        return view

    if not TYPE_CHECKING:  # to mypy, RunView has just its declared fields

        def __getattr__(self, name: str) -> Any:
            # Only for a deferred view's fields not yet read.
            row = self.__dict__.get("_row")
            read = _READ.get(name) or _TIME_READ.get(name)
            if row is None or read is None:
                raise AttributeError(name)
            value = self.__dict__[name] = read(row)
            return value

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


Row = RowMapping | dict[str, Any]


def _error(row: Row) -> RunError | None:
    if row["error_message"] is None and row["error_code"] is None:
        return None
    return RunError(row["error_message"] or "", row["error_code"], row["error_data"])


def _progress(row: Row) -> ProgressView | None:
    if row["progress_current"] is None:
        return None
    return ProgressView(row["progress_current"], row["progress_total"], row["progress_units"])


def _column(name: str) -> Callable[[Row], Any]:
    return lambda row: row[name]


def _time(name: str) -> Callable[[Row], datetime | None]:
    return lambda row: to_datetime(row[name])


# How each RunView field is read from a task_runs row; the times apart, as
# `from_row` converts equal instants once.
_READ: dict[str, Callable[[Row], Any]] = {
    **{
        name: _column(name)
        for name in (
            "id",
            "definition_id",
            "name",
            "output",
            "iterations",
            "attempt",
            "priority",
            "status_message",
            "worker_id",
            "parent_id",
            "created_by",
            "idempotency_key",
        )
    },
    "status": lambda row: TaskStatus(row["status"]),
    "requested": lambda row: RunRequest(row["requested"]) if row["requested"] else None,
    "input": lambda row: row["input"] or {},
    "state": lambda row: row["state"] or {},
    "error": _error,
    "progress": _progress,
    "has_errors": lambda row: bool(row["has_errors"]),
    "simulate": lambda row: bool(row["simulate"]),
}
_TIMES = ("created_at", "run_at", "scheduled_at", "started_at", "finished_at", "updated_at")
_TIME_READ = {name: _time(name) for name in _TIMES}


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

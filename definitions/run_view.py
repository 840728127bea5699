"""`RunView`: a run as backend code and the GraphQL API read it, made from a
`task_runs` row (whole, or one field at a time as a page's fields are read)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from taskloom.definitions.records import RunError, RunRequest, TaskStatus, WaitReason
from taskloom.definitions.timestamps import datetimes, exact_datetime, to_datetime

# A `task_runs` row as the store reads it (SQLAlchemy's RowMapping, whose keys
# may also be columns) or as a dict.
Row = Mapping[Any, Any]


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
class Waiting:
    """A run that is not executing now and waits for `reason`: a started run
    between iterations reads RUNNING and is due again at `until` (TIME; a
    time already past: due, waiting for a free worker); a run waiting for
    its children (RUNNING) or its dependencies (PENDING: it has not started)
    has no `until`."""

    until: datetime | None
    reason: WaitReason

    def __str__(self) -> str:
        """ "waiting until 13:05:02 UTC", or "waiting for its children"."""
        if self.until is None:
            return f"waiting for its {self.reason.value.lower()}"
        return f"waiting until {self.until:%H:%M:%S} UTC"


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
    # The worker of the latest claim, kept once the run stops RUNNING.
    last_worker_id: str | None
    parent_id: str | None
    created_by: str | None
    has_errors: bool
    simulate: bool
    idempotency_key: str | None
    # Set while a started run waits for its next iteration (its status then
    # reads RUNNING, and `worker_id` is None), or while any run waits for its
    # children or dependencies; None while one executes. No default: a class
    # attribute would hide a deferred view's `__getattr__`.
    waiting: Waiting | None
    # FAILED with DEADLINE this many seconds after its first start.
    deadline_seconds: float | None
    # Ends EXPIRED if it has not started by then.
    expires_at: datetime | None
    # Who aborted it (None: the system, or not aborted) and why; an abort
    # that cascaded names the run it came from.
    aborted_by: str | None
    abort_reason: str | None
    # Whether the run's definition allows pausing (`pausable`) and aborting
    # (`abortable`).
    pausable: bool = True
    abortable: bool = True

    @classmethod
    def from_row(cls, row: Row, *, pausable: bool = True, abortable: bool = True) -> RunView:
        # A frozen dataclass's __init__ sets each of the 29 fields through
        # object.__setattr__, which costs more than the rest of this method:
        # the fields go in at once.
        view = object.__new__(cls)
        fields = view.__dict__
        fields.update(
            {name: read(row) for name, read in _READ.items()},
            pausable=pausable,
            abortable=abortable,
        )
        fields.update(zip(_TIMES, datetimes(*(row[name] for name in _TIMES)), strict=True))
        return view

    @classmethod
    def deferred(cls, row: Row, *, pausable: bool = True, abortable: bool = True) -> RunView:
        """The view `from_row` makes, each field converted when first read: a
        page of 50 runs whose query selects three fields converts 150 values,
        not 1,350. `row` must not change afterwards (a page's fresh rows)."""
        view = object.__new__(cls)
        view.__dict__.update(_row=row, pausable=pausable, abortable=abortable)
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
        """True exactly when `abort()` would succeed."""
        return self.abortable and not self.has_ended and self.requested is not RunRequest.ABORT

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


def run_error(row: Row) -> RunError | None:
    """The error columns of a `task_runs` or `task_results` row."""
    if row["error_message"] is None and row["error_code"] is None:
        return None
    return RunError(row["error_message"] or "", row["error_code"], row["error_data"])


def shown_status(stored: str, started_at: float | None) -> TaskStatus:
    """The status clients read. The store keeps a started run that waits for
    its next iteration PENDING (that is what a claim looks for); it reads
    RUNNING, with `waiting` set. PENDING is left to runs that never started.
    The store's status filters and gauges follow the same rule
    (server/store/shown_status.py)."""
    if started_at is not None and stored == TaskStatus.PENDING:
        return TaskStatus.RUNNING
    return TaskStatus(stored)


def _waiting(row: Row) -> Waiting | None:
    if row["status"] != TaskStatus.PENDING:
        return None
    if row["waiting"]:  # not due until its children or dependencies end
        return Waiting(None, WaitReason(row["waiting"]))
    if row["started_at"] is None:
        return None
    return Waiting(exact_datetime(row["run_at"]), WaitReason.TIME)


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
            "last_worker_id",
            "parent_id",
            "created_by",
            "idempotency_key",
            "deadline_seconds",
            "aborted_by",
            "abort_reason",
        )
    },
    "status": lambda row: shown_status(row["status"], row["started_at"]),
    "requested": lambda row: RunRequest(row["requested"]) if row["requested"] else None,
    "input": lambda row: row["input"] or {},
    "state": lambda row: row["state"] or {},
    "error": run_error,
    "progress": _progress,
    "waiting": _waiting,
    "has_errors": lambda row: bool(row["has_errors"]),
    "simulate": lambda row: bool(row["simulate"]),
}
_TIMES = (
    "created_at",
    "run_at",
    "scheduled_at",
    "started_at",
    "finished_at",
    "updated_at",
    "expires_at",
)
_TIME_READ = {name: _time(name) for name in _TIMES}

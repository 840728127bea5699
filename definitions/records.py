"""Plain records that cross the line between task code and the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.ABORTED})


class WaitReason(StrEnum):
    """Why a run is not executing now (`RunView.waiting`; a never-started run
    held back by a rate limit or a paused definition too, through GraphQL
    `waiting` and `TaskService.waiting_reasons`)."""

    # Due at a time: the task asked to continue later, a failed attempt
    # waits to be retried, or a run due now waits for a free worker slot.
    TIME = "TIME"
    # Due, but its start is held back by its definition's rate limit.
    RATE_LIMIT = "RATE_LIMIT"
    # Due, but its definition is paused (pauseDefinition).
    DEFINITION_PAUSED = "DEFINITION_PAUSED"
    # Not due until every child run it triggered has ended (wait_for_children).
    CHILDREN = "CHILDREN"
    # Not due until every run it was triggered `after` has SUCCEEDED; such a
    # run has not started, so it reads PENDING.
    DEPENDENCIES = "DEPENDENCIES"
    # Due, but no code loaded here can run it: its definition is not
    # registered (renamed, removed, or its module not imported). It waits
    # until a worker that has it runs; workers log it once per definition.
    DEFINITION_NOT_LOADED = "DEFINITION_NOT_LOADED"


class RunRequest(StrEnum):
    PAUSE = "PAUSE"
    ABORT = "ABORT"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@dataclass(frozen=True)
class RunInfo:
    """`controller.run`: who this run is, as hooks and iterations see it."""

    id: str
    definition_id: str
    name: str | None = None
    iteration: int = 0
    attempt: int = 0
    parent_id: str | None = None
    created_by: str | None = None
    status: TaskStatus = TaskStatus.RUNNING
    input: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    error: RunError | None = None


@dataclass(frozen=True)
class RunError:
    message: str
    code: str | None = None
    data: Any = None


@dataclass(frozen=True)
class LogEntry:
    level: LogLevel
    message: str
    data: Any
    created_at: float


@dataclass(frozen=True)
class Progress:
    current: float
    total: float | None = None
    units: str | None = None


@dataclass(frozen=True)
class ChildRequest:
    """A child run asked for during an iteration, written with its outcome."""

    id: str
    definition_id: str
    input: dict[str, Any]
    name: str | None
    priority: int
    delay: float | datetime | None
    created_at: datetime | None = None

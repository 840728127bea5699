"""GraphQL enums: the SDK's own enums, plus the orders lists accept."""

from __future__ import annotations

from enum import Enum

import strawberry

from taskloom.definitions.records import LogLevel, RunRequest, TaskStatus, WaitReason

# The SDK's enums are the GraphQL enums: registering them marks the classes.
strawberry.enum(TaskStatus, name="TaskStatus", description="Where a run is in its life.")
strawberry.enum(
    RunRequest, name="RunRequest", description="A request waiting for the running iteration to end."
)
strawberry.enum(LogLevel, name="LogLevel", description="Severity of a log line.")
strawberry.enum(
    WaitReason,
    name="WaitReason",
    description="Why a run is not executing now: TIME (due at a time, or due and waiting "
    "for a free worker), RATE_LIMIT (its start is held back by its definition's rate "
    "limit) or DEFINITION_PAUSED (its definition is paused).",
)

LEVEL_ORDER = list(LogLevel)


@strawberry.enum(description="How `taskRuns` orders its runs.")
class TaskRunOrder(Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    PRIORITY_DESC = "PRIORITY_DESC"
    FINISHED_AT_DESC = "FINISHED_AT_DESC"


def levels_from(minimum: LogLevel | None) -> tuple[str, ...]:
    """The levels at or above `minimum` (all of them for None)."""
    if minimum is None:
        return ()
    return tuple(level.value for level in LEVEL_ORDER[LEVEL_ORDER.index(minimum) :])


__all__ = [
    "LEVEL_ORDER",
    "LogLevel",
    "RunRequest",
    "TaskRunOrder",
    "TaskStatus",
    "WaitReason",
    "levels_from",
]

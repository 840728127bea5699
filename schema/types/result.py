"""`TaskResult`: one finished attempt in a run's result history."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.views import ResultView
from taskloom.schema.enums import TaskStatus


@strawberry.type(description="Why an attempt failed (or was aborted).")
class TaskResultError:
    message: str
    code: str | None


@strawberry.type(description="One finished attempt of a run (its result history).")
class TaskResult:
    attempt: int = strawberry.field(description="0 for the first try, 1 for the first retry...")
    status: TaskStatus
    started_at: datetime | None
    finished_at: datetime
    output: JSON | None
    error: TaskResultError | None

    @classmethod
    def of(cls, view: ResultView) -> TaskResult:
        error = view.error
        return cls(
            attempt=view.attempt,
            status=view.status,
            started_at=view.started_at,
            finished_at=view.finished_at,
            output=None if view.output is None else JSON(view.output),
            error=None
            if error is None
            else TaskResultError(message=error.message, code=error.code),
        )

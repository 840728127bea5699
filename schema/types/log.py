"""`TaskLog`: one line a run wrote."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.views import LogView
from taskloom.schema.enums import LogLevel


@strawberry.type(description="One log line written by a run.")
class TaskLog:
    id: strawberry.ID
    run_id: strawberry.ID
    level: LogLevel
    message: str
    data: JSON | None
    iteration: int = strawberry.field(description="The iteration that wrote it.")
    created_at: datetime

    @classmethod
    def of(cls, view: LogView) -> TaskLog:
        return cls(
            id=strawberry.ID(str(view.id)),
            run_id=strawberry.ID(view.run_id),
            level=view.level,
            message=view.message,
            data=JSON(view.data) if view.data is not None else None,
            iteration=view.iteration,
            created_at=view.created_at,
        )

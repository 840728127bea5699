"""The root `Subscription`, fed by the engine's event hub via the service."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry

from taskloom.schema.context import Info
from taskloom.schema.filters import TaskRunFilter
from taskloom.schema.types.log import TaskLog
from taskloom.schema.types.run import TaskRun


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="The run now, then after every status, progress or iteration "
        "change; completes after a terminal status."
    )
    async def task_run_updated(
        self, info: Info, id: strawberry.ID
    ) -> AsyncGenerator[TaskRun, None]:
        updates = info.context.service.watch(id)
        async with aclosing(info.context.live.guard(updates)) as views:
            async for view in views:
                yield TaskRun.of(view)

    @strawberry.subscription(
        description="Each log line the run writes from now on; completes once the run has ended."
    )
    async def task_log_added(
        self, info: Info, run_id: strawberry.ID
    ) -> AsyncGenerator[TaskLog, None]:
        logs = info.context.service.follow_logs(run_id)
        async with aclosing(info.context.live.guard(logs)) as views:
            async for view in views:
                yield TaskLog.of(view)

    @strawberry.subscription(
        description="Every run the caller may see that meets `where`, after each status, "
        "progress or request change, from now on; a run that a change takes out of `where` "
        "is sent once more, as it now is. Never completes."
    )
    async def task_run_events(
        self, info: Info, where: TaskRunFilter | None = None
    ) -> AsyncGenerator[TaskRun, None]:
        filter_ = None if where is None else where.build()
        events = info.context.service.run_events(filter_)
        async with aclosing(info.context.live.guard(events)) as views:
            async for view in views:
                yield TaskRun.of(view)

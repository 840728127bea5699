"""The root `Query`."""

from __future__ import annotations

import strawberry

from taskloom.definitions.errors import NotFound
from taskloom.definitions.filters import page_size
from taskloom.schema.connection import After, Connection, First, connection
from taskloom.schema.context import Info
from taskloom.schema.enums import TaskRunOrder
from taskloom.schema.filters import TaskLogFilter, TaskRunFilter
from taskloom.schema.types.definition import TaskDefinitionType
from taskloom.schema.types.log import TaskLog
from taskloom.schema.types.run import TaskRun
from taskloom.schema.types.schedule import TaskSchedule


@strawberry.type
class Query:
    @strawberry.field(description="Every definition this server can run.")
    def task_definitions(self, info: Info) -> list[TaskDefinitionType]:
        return [TaskDefinitionType.of(d) for d in info.context.service.definitions()]

    @strawberry.field(description="One definition; null when unknown.")
    def task_definition(self, info: Info, id: strawberry.ID) -> TaskDefinitionType | None:
        try:
            return TaskDefinitionType.of(info.context.service.definition(id))
        except NotFound:
            return None

    @strawberry.field(description="One run; null when unknown.")
    async def task_run(self, info: Info, id: strawberry.ID) -> TaskRun | None:
        view = await info.context.loaders.run.load(id)
        return None if view is None else TaskRun.of(view)

    @strawberry.field(description="Runs, newest first unless `orderBy` says otherwise.")
    async def task_runs(
        self,
        info: Info,
        where: TaskRunFilter | None = None,
        first: First = 50,
        after: After = None,
        order_by: TaskRunOrder = TaskRunOrder.CREATED_AT_DESC,
    ) -> Connection[TaskRun]:
        service = info.context.service
        condition = (where or TaskRunFilter()).build()
        page = await service.list_runs(
            condition, first=page_size(first), after=after, order=order_by.value
        )
        return connection(page, TaskRun.of, lambda: service.count_runs(condition))

    @strawberry.field(description="Log lines of any runs, oldest first.")
    async def task_logs(
        self,
        info: Info,
        where: TaskLogFilter | None = None,
        first: First = 50,
        after: After = None,
    ) -> Connection[TaskLog]:
        service = info.context.service
        condition = (where or TaskLogFilter()).build()
        page = await service.logs(where=condition, first=page_size(first), after=after)
        return connection(page, TaskLog.of, lambda: service.count_logs(condition))

    @strawberry.field(description="The schedules of the definitions that declare one.")
    async def task_schedules(self, info: Info) -> list[TaskSchedule]:
        return [TaskSchedule.of(s) for s in await info.context.service.schedules()]

"""Mutations that steer runs: pause, resume, retry, priority, deletion.
A refused action is a CONFLICT error."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from taskloom.schema.context import Info
from taskloom.schema.types.definition import TaskDefinitionType
from taskloom.schema.types.run import TaskRun
from taskloom.schema.types.schedule import TaskSchedule


@strawberry.type
class ControlMutations:
    @strawberry.mutation(
        description="A pending run is PAUSED at once; a running one gets a PAUSE request "
        "and is PAUSED after its iteration. CONFLICT when `canPause` is false."
    )
    async def pause_task(self, info: Info, id: strawberry.ID) -> TaskRun:
        return TaskRun.of(await info.context.service.pause(id))

    @strawberry.mutation(
        description="A PAUSED run is PENDING again and continues from its saved state. "
        "CONFLICT when `canResume` is false."
    )
    async def resume_task(self, info: Info, id: strawberry.ID) -> TaskRun:
        return TaskRun.of(await info.context.service.resume(id))

    @strawberry.mutation(
        description="Re-queues a FAILED or ABORTED run as its next attempt, keeping its "
        "state and history (the definition's on_retry may change its input)."
    )
    async def retry_task(self, info: Info, id: strawberry.ID) -> TaskRun:
        return TaskRun.of(await info.context.service.retry(id))

    @strawberry.mutation(
        description="Changes the priority of a run that has not ended (higher runs first)."
    )
    async def set_task_priority(self, info: Info, id: strawberry.ID, priority: int) -> TaskRun:
        return TaskRun.of(await info.context.service.set_priority(id, priority))

    @strawberry.mutation(
        description="Deletes a finished run with its logs and history; returns it as it "
        "was. CONFLICT for a run that has not ended."
    )
    async def delete_task_run(self, info: Info, id: strawberry.ID) -> TaskRun:
        return TaskRun.of(await info.context.service.delete(id))

    @strawberry.mutation(
        description="Pauses a whole definition: no worker claims its runs until it is "
        "resumed (across restarts); running runs finish their iteration, then wait. "
        "Admins and developers."
    )
    async def pause_definition(self, info: Info, id: strawberry.ID) -> TaskDefinitionType:
        service = info.context.service
        await service.pause_definition(id)
        return TaskDefinitionType.of(service.definition(id))

    @strawberry.mutation(
        description="Resumes a paused definition: its due runs are claimed again. "
        "Admins and developers."
    )
    async def resume_definition(self, info: Info, id: strawberry.ID) -> TaskDefinitionType:
        service = info.context.service
        await service.resume_definition(id)
        return TaskDefinitionType.of(service.definition(id))

    @strawberry.mutation(
        description="Makes a schedule beside the definitions' own: one run of the "
        "definition with `input` per tick of the cron `expression` in `timezone`, fired "
        "once across workers. An invalid expression, time zone or input is BAD_USER_INPUT "
        "naming its field. Admins and developers."
    )
    async def create_schedule(
        self,
        info: Info,
        definition_id: strawberry.ID,
        expression: str,
        timezone: str = "UTC",
        input: JSON | None = None,
    ) -> TaskSchedule:
        service = info.context.service
        view = await service.create_schedule(definition_id, expression, timezone, input)
        return TaskSchedule.of(view)

    @strawberry.mutation(
        description="Deletes a schedule made with createSchedule; returns it as it was. "
        "A definition's own schedule is CONFLICT (turn it off with setScheduleEnabled). "
        "Admins and developers."
    )
    async def delete_schedule(self, info: Info, id: strawberry.ID) -> TaskSchedule:
        return TaskSchedule.of(await info.context.service.delete_schedule(id))

    @strawberry.mutation(
        description="Turns a definition's schedule on or off; turned on again it starts "
        "from its next tick. Admins only."
    )
    async def set_schedule_enabled(
        self, info: Info, definition_id: strawberry.ID, enabled: bool
    ) -> TaskSchedule:
        view = await info.context.service.set_schedule_enabled(definition_id, enabled)
        return TaskSchedule.of(view)

"""Mutations that create and stop runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from taskloom.schema.context import Info
from taskloom.schema.types.run import TaskRun


@strawberry.type
class RunMutations:
    @strawberry.mutation(description="Creates a PENDING run; durable once this returns.")
    async def trigger_task(
        self,
        info: Info,
        definition_id: strawberry.ID,
        input: Annotated[
            JSON | None, strawberry.argument(description="Validated against inputSchema.")
        ] = None,
        name: str | None = None,
        delay_seconds: Annotated[
            int | None, strawberry.argument(description="Due this many seconds from now.")
        ] = None,
        run_at: Annotated[
            datetime | None, strawberry.argument(description="Due at this time.")
        ] = None,
        priority: Annotated[
            int | None, strawberry.argument(description="Higher runs first; default 0.")
        ] = None,
        parent_id: strawberry.ID | None = None,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="A second trigger of the definition with this key returns "
                "the first run instead of creating another."
            ),
        ] = None,
        simulate: Annotated[
            bool, strawberry.argument(description="The run sees runtime.simulate true.")
        ] = False,
    ) -> TaskRun:
        view = await info.context.service.trigger(
            definition_id,
            input,
            name=name,
            delay=None if delay_seconds is None else float(delay_seconds),
            run_at=run_at,
            priority=priority or 0,
            parent_id=parent_id,
            idempotency_key=idempotency_key,
            simulate=simulate,
        )
        return TaskRun.of(view)

    @strawberry.mutation(
        description="A waiting run ends ABORTED at once; a running one when its "
        "iteration ends. CONFLICT for a run that has already ended."
    )
    async def abort_task(
        self, info: Info, id: strawberry.ID, message: str | None = None
    ) -> TaskRun:
        return TaskRun.of(await info.context.service.abort(id, message))

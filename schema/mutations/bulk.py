"""Mutations on many runs at once: trigger a batch of inputs (all or
nothing), abort or retry the runs a filter matches (up to a limit)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.views import BulkResult
from taskloom.schema.context import Info
from taskloom.schema.filters import TaskRunFilter
from taskloom.schema.types.run import TaskRun

Limit = Annotated[
    int,
    strawberry.argument(description="At most this many runs change (1 to 10000)."),
]


@strawberry.type(description="What a bulk action did.")
class BulkRunAction:
    count: int = strawberry.field(description="How many runs this call changed.")
    runs: list[TaskRun] = strawberry.field(description="The runs it changed, oldest first.")
    has_more: bool = strawberry.field(
        description="More runs matched than `limit`: call again to go on."
    )

    @classmethod
    def of(cls, result: BulkResult) -> BulkRunAction:
        runs = [TaskRun.of(view) for view in result.runs]
        return cls(count=result.count, runs=runs, has_more=result.has_more)


@strawberry.type
class BulkMutations:
    @strawberry.mutation(
        description="Creates one PENDING run per input in one transaction: all or none. "
        "A refusal is BAD_USER_INPUT whose `extensions.errors[]` carry the `index` of "
        "each refused input."
    )
    async def trigger_tasks(
        self,
        info: Info,
        definition_id: strawberry.ID,
        inputs: list[JSON],
        delay_seconds: Annotated[
            int | None, strawberry.argument(description="Due this many seconds from now.")
        ] = None,
        run_at: Annotated[
            datetime | None, strawberry.argument(description="Due at this time.")
        ] = None,
        priority: Annotated[
            int | None, strawberry.argument(description="Higher runs first; default 0.")
        ] = None,
    ) -> list[TaskRun]:
        views = await info.context.service.trigger_many(
            definition_id,
            inputs,
            delay=None if delay_seconds is None else float(delay_seconds),
            run_at=run_at,
            priority=priority or 0,
        )
        return [TaskRun.of(view) for view in views]

    @strawberry.mutation(
        description="Aborts the runs matching `where` that can be aborted, oldest first, "
        "at most `limit`, among the runs the caller may see (as abortTask would each)."
    )
    async def abort_tasks(
        self,
        info: Info,
        where: TaskRunFilter,
        limit: Limit,
        message: str | None = None,
        cascade: Annotated[
            bool,
            strawberry.argument(
                description="Also abort each run's unfinished children and dependents "
                "(not counted)."
            ),
        ] = True,
    ) -> BulkRunAction:
        result = await info.context.service.abort_many(
            where.build(), limit=limit, message=message, cascade=cascade
        )
        return BulkRunAction.of(result)

    @strawberry.mutation(
        description="Retries the FAILED or ABORTED runs matching `where`, oldest first, "
        "at most `limit`, among the runs the caller may see (as retryTask would each)."
    )
    async def retry_tasks(self, info: Info, where: TaskRunFilter, limit: Limit) -> BulkRunAction:
        return BulkRunAction.of(await info.context.service.retry_many(where.build(), limit=limit))

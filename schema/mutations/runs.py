"""Mutations that create and stop runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.errors import InvalidInput
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
        after: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Runs this one waits for: it starts once each has SUCCEEDED, "
                "and fails with DEPENDENCY_FAILED if one ends otherwise."
            ),
        ] = None,
        deadline_seconds: Annotated[
            float | None,
            strawberry.argument(
                description="It fails with DEADLINE this long after its first start "
                "(default: the definition's deadline)."
            ),
        ] = None,
        expires_in_seconds: Annotated[
            float | None,
            strawberry.argument(
                description="It ends with EXPIRED if not started this long after it is "
                "due (default: the definition's expires)."
            ),
        ] = None,
        expires_at: Annotated[
            datetime | None,
            strawberry.argument(description="It ends with EXPIRED if not started by then."),
        ] = None,
    ) -> TaskRun:
        if expires_at is not None and expires_in_seconds is not None:
            raise InvalidInput(
                "expiresAt: give either expiresAt or expiresInSeconds, not both",
                errors=[{"loc": ["expiresAt"], "message": "give one of the two"}],
            )
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
            after=None if after is None else [str(run_id) for run_id in after],
            deadline=deadline_seconds,
            expires=expires_at if expires_at is not None else expires_in_seconds,
        )
        return TaskRun.of(view)

    @strawberry.mutation(
        description="A waiting run ends ABORTED at once; a running one when its "
        "iteration ends. CONFLICT for a run that has already ended. With cascade "
        "(the default) its unfinished children and the runs triggered after it are "
        "aborted too; each records who aborted it and why."
    )
    async def abort_task(
        self,
        info: Info,
        id: strawberry.ID,
        message: str | None = None,
        cascade: Annotated[
            bool,
            strawberry.argument(
                description="Also abort its unfinished children and its dependents."
            ),
        ] = True,
    ) -> TaskRun:
        return TaskRun.of(await info.context.service.abort(id, message, cascade=cascade))

"""`TaskDefinition`: what can be run, with the JSON Schema of its input."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from taskloom.definitions.definition import TaskDefinition as SdkDefinition
from taskloom.schema.context import Info


@strawberry.type(description="How a failed attempt is retried.")
class RetryPolicy:
    attempts: int = strawberry.field(description="Retries after the first try; -1 retries forever.")
    wait_seconds: float = strawberry.field(description="Wait before the first retry.")
    multiplier: float = strawberry.field(
        description="Linear backoff: retry n waits waitSeconds * (1 + multiplier * (n - 1))."
    )
    backoff: str = strawberry.field(
        description='"linear" or "exponential" (retry n waits waitSeconds * factor^(n - 1)).'
    )
    factor: float = strawberry.field(description="The exponential backoff's factor.")
    max_wait: float | None = strawberry.field(description="The longest wait (null: no cap).")
    jitter: float = strawberry.field(
        description="0 to 1: each wait is drawn from [wait * (1 - jitter), wait]."
    )
    give_up_on: list[str] = strawberry.field(
        description="Error codes and exception type names that fail the run without a retry."
    )


@strawberry.type(name="TaskDefinition", description="A kind of task that can be triggered.")
class TaskDefinitionType:
    id: strawberry.ID
    title: str
    description: str
    max_iterations: int
    iteration_timeout: float = strawberry.field(description="Seconds one iteration may take.")
    retry: RetryPolicy
    definition: strawberry.Private[type[SdkDefinition[Any]]]

    @strawberry.field(description="JSON Schema of the input, e.g. to build a form.")
    def input_schema(self) -> JSON:
        return JSON(self.definition.input_schema())

    @strawberry.field(description="Whether its runs may be paused (pauseTask).")
    def pausable(self) -> bool:
        return bool(self.definition.pausable)

    @strawberry.field(
        description='"poll": the task stops at its next is_aborted() check; '
        '"cancel": an abort cancels the iteration at once.'
    )
    def abort_mode(self) -> str:
        return str(self.definition.abort_mode)

    @strawberry.field(description="Result-history records kept per run (0: all, -1: none).")
    def max_results(self) -> int:
        return int(self.definition.max_results)

    @strawberry.field(description="At most this many runs RUNNING at once (null: no cap).")
    def concurrency(self) -> int | None:
        return self.definition.concurrency

    @strawberry.field(description="At most this many RUNNING per concurrency key (null: no cap).")
    def concurrency_per_key(self) -> int | None:
        return self.definition.concurrency_per_key

    @strawberry.field(description='At most this many run starts per period ("100/m").')
    def rate_limit(self) -> str | None:
        return self.definition.rate_limit

    @strawberry.field(description="Whether the rate limit holds per concurrency key.")
    def rate_limit_key(self) -> bool:
        return bool(self.definition.rate_limit_key)

    @strawberry.field(description="Whether its runs may be aborted (abortTask).")
    def abortable(self) -> bool:
        return bool(self.definition.abortable)

    @strawberry.field(
        description='"poll": a pause waits for the iteration to end; "cancel": a pause '
        "cancels the iteration at once, keeping the state the last iteration saved."
    )
    def pause_mode(self) -> str:
        return str(self.definition.pause_mode)

    @strawberry.field(
        description="Paused with pauseDefinition: no worker claims its runs until resumeDefinition."
    )
    async def paused(self, info: Info) -> bool:
        return self.definition.id in await info.context.service.paused_definitions()

    @strawberry.field(description="Its cron schedule, if it has one (see taskSchedules).")
    def schedule(self) -> str | None:
        return self.definition.schedule

    @classmethod
    def of(cls, definition: type[SdkDefinition[Any]]) -> TaskDefinitionType:
        policy = definition.retry
        return cls(
            id=strawberry.ID(definition.id),
            title=definition.title,
            description=definition.description or (definition.__doc__ or "").strip(),
            max_iterations=definition.max_iterations,
            iteration_timeout=float(definition.iteration_timeout),
            retry=RetryPolicy(
                attempts=policy.attempts,
                wait_seconds=policy.wait_seconds,
                multiplier=policy.multiplier,
                backoff=policy.backoff,
                factor=policy.factor,
                max_wait=policy.max_wait,
                jitter=policy.jitter,
                give_up_on=[r if isinstance(r, str) else r.__name__ for r in policy.give_up_on],
            ),
            definition=definition,
        )

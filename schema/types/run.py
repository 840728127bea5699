"""`TaskRun`: one run of a definition, with its relations loaded in batches."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON

from taskloom.definitions.errors import NotFound
from taskloom.definitions.filters import LogFilter, RunFilter, page_size
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import Page
from taskloom.schema.connection import After, Connection, First, connection
from taskloom.schema.context import Info
from taskloom.schema.enums import LogLevel, RunRequest, TaskStatus, WaitReason, levels_from
from taskloom.schema.types.definition import TaskDefinitionType
from taskloom.schema.types.log import TaskLog
from taskloom.schema.types.result import TaskResult


@strawberry.type(description="Why a run failed (or was aborted).")
class TaskRunError:
    message: str
    code: str | None
    data: JSON | None


@strawberry.type(description="How far a run has come, as its task reported.")
class TaskProgress:
    current: float
    total: float | None
    units: str | None
    percent: float | None = strawberry.field(description="0-100, when the total is known.")
    display: str | None = strawberry.field(description='E.g. "3 of 10 steps".')


@strawberry.type(
    description="A run not executing now: a started run between iterations (RUNNING), due "
    "again at `until` (TIME); or a run waiting for its children (CHILDREN, RUNNING) or for "
    "the runs it was triggered after (DEPENDENCIES, PENDING), with no `until`."
)
class TaskRunWaiting:
    until: datetime | None = strawberry.field(
        description="When it is due again (a time past: due, waiting for a free worker); "
        "null while it waits for children or dependencies."
    )
    reason: WaitReason


@strawberry.type(description="One run of a task definition.")
class TaskRun:
    id: strawberry.ID
    definition_id: strawberry.ID
    name: str | None
    status: TaskStatus = strawberry.field(
        description="PENDING until it first starts; RUNNING from then until it ends, "
        "between iterations too (see `waiting`)."
    )
    requested: RunRequest | None = strawberry.field(
        description="A pause or abort asked for, honoured when the iteration ends."
    )
    input: JSON
    state: JSON = strawberry.field(description="What the last iteration saved for the next.")
    output: JSON | None
    error: TaskRunError | None
    iterations: int = strawberry.field(description="Iterations completed so far.")
    attempt: int = strawberry.field(description="0 on the first try, 1 on the first retry...")
    priority: int
    progress: TaskProgress | None
    status_message: str | None
    created_at: datetime
    run_at: datetime = strawberry.field(description="When the run is (or was) due next.")
    scheduled_at: datetime = strawberry.field(
        description="When it was first due (as triggered); waitingMs counts from here."
    )
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    waiting_ms: int = strawberry.field(description="Time spent due but not yet started.")
    duration_ms: int | None = strawberry.field(description="Running time, so far or in total.")
    has_errors: bool = strawberry.field(description="Whether any ERROR line was logged.")
    can_abort: bool = strawberry.field(
        description="True exactly when abortTask would succeed (false if the definition "
        "is not abortable)."
    )
    can_pause: bool = strawberry.field(description="True exactly when pauseTask would succeed.")
    can_resume: bool = strawberry.field(description="True exactly when resumeTask would succeed.")
    can_retry: bool = strawberry.field(description="True exactly when retryTask would succeed.")
    has_ended: bool = strawberry.field(description="SUCCEEDED, FAILED or ABORTED.")
    worker_id: str | None = strawberry.field(description="The worker process running it now.")
    last_worker_id: str | None = strawberry.field(
        description="The worker that ran its latest iteration; kept once it stops running."
    )
    simulate: bool = strawberry.field(description="Triggered with simulate: true.")
    idempotency_key: str | None
    parent_id: strawberry.ID | None
    created_by: str | None
    deadline_seconds: float | None = strawberry.field(
        description="It fails with code DEADLINE this long after its first start."
    )
    expires_at: datetime | None = strawberry.field(
        description="It ends with code EXPIRED if it has not started by then."
    )
    aborted_by: str | None = strawberry.field(
        description="Who aborted it (null: the system, or not aborted)."
    )
    abort_reason: str | None = strawberry.field(
        description="Why it was aborted; a cascaded abort names the run it came from."
    )

    @strawberry.field(description="Finished attempts, newest first (capped by maxResults).")
    async def history(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="At most 500; -1: every record.")
        ] = 10,
        skip: int = 0,
    ) -> list[TaskResult]:
        return [
            TaskResult.of(r)
            for r in await info.context.service.history(self.id, first=first, skip=skip)
        ]

    @strawberry.field(
        description="Set while a RUNNING run waits for its next iteration (null while it "
        "executes on `workerId`), while a due PENDING run is held back by its "
        "definition's rate limit or pause (reason RATE_LIMIT, DEFINITION_PAUSED), and while "
        "a run waits for its children (CHILDREN) or dependencies (DEPENDENCIES)."
    )
    async def waiting(self, info: Info) -> TaskRunWaiting | None:
        view: RunView = self.__dict__["_view"]
        between = view.waiting
        if between is not None and between.until is None:  # waits for other runs
            return TaskRunWaiting(until=None, reason=between.reason)
        if between is not None or view.status is TaskStatus.PENDING:
            held = await info.context.loaders.waiting_reason.load(self.id)
            if held is not None:
                return TaskRunWaiting(until=view.run_at, reason=held)
        if between is None:
            return None
        return TaskRunWaiting(until=between.until, reason=between.reason)

    @strawberry.field(description="The definition, if this server knows it.")
    def definition(self, info: Info) -> TaskDefinitionType | None:
        try:
            return TaskDefinitionType.of(info.context.service.definition(self.definition_id))
        except NotFound:
            return None

    @strawberry.field(description="The run that triggered this one.")
    async def parent(self, info: Info) -> TaskRun | None:
        if self.parent_id is None:
            return None
        view = await info.context.loaders.run.load(self.parent_id)
        return None if view is None else TaskRun.of(view)

    @strawberry.field(description="Runs this one triggered, oldest first.")
    async def children(
        self, info: Info, first: First = 50, after: After = None
    ) -> Connection[TaskRun]:
        loaders = info.context.loaders
        where = RunFilter(parent_id=self.id)
        pages, counts = loaders.children, loaders.child_count
        return await _related_runs(info, self.id, where, first, after, pages, counts)

    @strawberry.field(
        description="The runs this one was triggered `after` (it starts once each has "
        "SUCCEEDED), oldest first; a `user` sees only its own."
    )
    async def dependencies(self, info: Info) -> list[TaskRun]:
        return [TaskRun.of(v) for v in await info.context.loaders.dependencies.load(self.id)]

    @strawberry.field(description="Runs triggered `after` this one, oldest first.")
    async def dependents(
        self, info: Info, first: First = 50, after: After = None
    ) -> Connection[TaskRun]:
        loaders = info.context.loaders
        where = RunFilter(depends_on=self.id)
        pages, counts = loaders.dependents, loaders.dependent_count
        return await _related_runs(info, self.id, where, first, after, pages, counts)

    @strawberry.field(description="The run's log lines, oldest first.")
    async def logs(
        self,
        info: Info,
        first: First = 50,
        after: After = None,
        level: Annotated[
            LogLevel | None, strawberry.argument(description="Only lines at or above it.")
        ] = None,
    ) -> Connection[TaskLog]:
        loaders, service = info.context.loaders, info.context.service
        levels = levels_from(level)
        if after is None:
            page = await loaders.logs.load((self.id, page_size(first), levels))
        else:
            where = LogFilter(levels=levels or None)
            page = await service.logs(self.id, where=where, first=first, after=after)
        return connection(page, TaskLog.of, lambda: loaders.log_count.load((self.id, levels)))

    @classmethod
    def of(cls, view: RunView) -> TaskRun:
        """The view's fields copied in one step (a page converts 50 runs,
        and the dataclass `__init__` of 35 fields cost more than the rest);
        its error and progress, its derived values and a deferred view's
        unread fields are taken from the view only when a query selects them
        (`__getattr__` below); `waiting` is resolved from the view."""
        run = object.__new__(cls)
        fields = run.__dict__
        fields.update(view.__dict__)
        fields.pop("error", None)
        fields.pop("progress", None)
        fields.pop("waiting", None)
        fields["_view"] = view
        return run

    if not TYPE_CHECKING:  # to mypy, TaskRun has just its declared fields

        def __getattr__(self, name: str) -> Any:
            view = self.__dict__.get("_view")
            if view is None:
                raise AttributeError(name)
            if name not in type(view).__dataclass_fields__:
                if isinstance(getattr(type(view), name, None), property):
                    return getattr(view, name)  # derived: read afresh, as time passes
                raise AttributeError(name)
            value = getattr(view, name)
            if name == "error" and value is not None:
                value = TaskRunError(
                    message=value.message,
                    code=value.code,
                    data=None if value.data is None else JSON(value.data),
                )
            elif name == "progress" and value is not None:
                value = TaskProgress(
                    current=value.current,
                    total=value.total,
                    units=value.units,
                    percent=value.percent,
                    display=value.display,
                )
            self.__dict__[name] = value
            return value


async def _related_runs(
    info: Info,
    run_id: str,
    where: RunFilter,
    first: int | None,
    after: str | None,
    pages: DataLoader[tuple[str, int | None], Page[RunView]],
    counts: DataLoader[str, int],
) -> Connection[TaskRun]:
    """The runs related to `run_id` that `where` selects (its children, or
    its dependents), oldest first: the first page from `pages`, batched
    across the runs of a list; a later one through `list_runs`."""
    if after is None:
        page = await pages.load((run_id, page_size(first)))
    else:
        service = info.context.service
        page = await service.list_runs(where, first=first, after=after, order="CREATED_AT_ASC")
    return connection(page, TaskRun.of, lambda: counts.load(run_id))

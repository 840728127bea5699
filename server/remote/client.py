"""`Client`: `TaskService`'s methods on a Taskloom server over GraphQL.

    async with Client("https://tasks.example.com", token) as tasks:
        run = await tasks.trigger("send-report", {"to": "ops"})
        run = await tasks.wait(run.id, timeout=60)

Same names, arguments, results (`RunView`, `Page`, ...) and exceptions
(`InvalidInput` with its field errors, `NotFound`, `Conflict`, `Forbidden`,
`Unauthenticated`, `WaitTimeout`) as `TaskService` (both satisfy
`RunsAPI`); a run the token may not see is `NotFound`, as in process. Only
`Unreachable` is its own: the server did not answer. Reads and changes go
over HTTP; `watch`, `follow_logs` and `wait` follow the server's
subscriptions over graphql-transport-ws (one connection each)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Iterable, Sequence
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from taskloom.definitions.errors import NotFound, WaitTimeout
from taskloom.definitions.filters import LogFilter, RunFilter
from taskloom.definitions.records import TERMINAL_STATUSES, TaskStatus
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import BulkResult, LogView, Page, ResultView, ScheduleView
from taskloom.server.remote.decode import (
    bulk_result,
    log_filter,
    log_page,
    log_view,
    result_view,
    run_filter,
    run_page,
    run_view,
    schedule_view,
)
from taskloom.server.remote.transport import Transport

RECHECK_SECONDS = 1.0  # `wait` on a run that ended elsewhere than wanted


def definition_id(definition: Any) -> str:
    """A definition's id from its id or its class (as the registry resolves)."""
    return definition if isinstance(definition, str) else str(definition.id)


def due(delay: float | None, run_at: datetime | None) -> dict[str, Any]:
    """`delaySeconds` for whole seconds (and negative delays, which the
    server refuses); a fractional delay as `runAt` on this machine's clock,
    as the API counts delays in whole seconds."""
    moment = None if run_at is None else run_at.isoformat()
    if delay is None or run_at is not None or delay < 0 or float(delay).is_integer():
        return {"delaySeconds": None if delay is None else math.floor(delay), "runAt": moment}
    later = datetime.now(UTC) + timedelta(seconds=delay)
    return {"delaySeconds": None, "runAt": later.isoformat()}


class Client:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        """`url`: the server (`http://host:8000`, or its `/graphql`);
        `token`: an API token (`taskloom token create`), None when the
        server runs without authentication; `timeout`: seconds per request."""
        self.transport = Transport(url, token, timeout)

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, operation: str, **variables: Any) -> RunView:
        data = await self.transport.execute(operation, variables)
        return run_view(data["run"])

    # --- triggering -------------------------------------------------------------

    async def trigger(
        self,
        definition: Any,
        input: Any = None,
        *,
        name: str | None = None,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
        parent_id: str | None = None,
        idempotency_key: str | None = None,
        simulate: bool = False,
        after: Sequence[str] | None = None,
        deadline: float | None = None,
        expires: float | datetime | None = None,
    ) -> RunView:
        return await self._run(
            "trigger",
            definitionId=definition_id(definition),
            input=input,
            name=name,
            priority=priority,
            parentId=parent_id,
            idempotencyKey=idempotency_key,
            simulate=simulate,
            after=None if after is None else list(after),
            deadlineSeconds=deadline,
            expiresInSeconds=None if isinstance(expires, datetime) else expires,
            expiresAt=expires.isoformat() if isinstance(expires, datetime) else None,
            **due(delay, run_at),
        )

    async def trigger_many(
        self,
        definition: Any,
        inputs: Iterable[Any],
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
    ) -> list[RunView]:
        """All or none; a refusal's errors carry the `index` of their input."""
        variables = {
            "definitionId": definition_id(definition),
            "inputs": list(inputs),
            "priority": priority,
            **due(delay, run_at),
        }
        data = await self.transport.execute("trigger_many", variables)
        return [run_view(run) for run in data["runs"]]

    # --- reading ------------------------------------------------------------------

    async def find(self, run_id: str) -> RunView | None:
        data = await self.transport.execute("get", {"id": run_id})
        return None if data["run"] is None else run_view(data["run"])

    async def get(self, run_id: str) -> RunView:
        run = await self.find(run_id)
        if run is None:
            raise NotFound(f"no task run with id {run_id!r}")
        return run

    async def list_runs(
        self,
        where: RunFilter | None = None,
        *,
        first: int | None = None,
        after: str | None = None,
        order: str = "CREATED_AT_DESC",
    ) -> Page[RunView]:
        variables = {
            "where": run_filter(where),
            "first": first,
            "after": after,
            "order": order,
        }
        data = await self.transport.execute("list_runs", variables)
        return run_page(data["page"])

    async def count_runs(self, where: RunFilter | None = None) -> int:
        data = await self.transport.execute("count_runs", {"where": run_filter(where)})
        return int(data["page"]["totalCount"])

    async def logs(
        self,
        run_id: str | None = None,
        *,
        where: LogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Page[LogView]:
        condition = log_filter(where or LogFilter())
        if run_id is not None:
            condition["runId"] = run_id
        variables = {"where": condition, "first": first, "after": after}
        data = await self.transport.execute("logs", variables)
        return log_page(data["page"])

    async def history(self, run_id: str, *, first: int = 10, skip: int = 0) -> list[ResultView]:
        data = await self.transport.execute("history", {"id": run_id, "first": first, "skip": skip})
        if data["run"] is None:
            raise NotFound(f"no task run with id {run_id!r}")
        return [result_view(result) for result in data["run"]["history"]]

    async def dependencies(self, run_id: str) -> list[RunView]:
        data = await self.transport.execute("dependencies", {"id": run_id})
        if data["run"] is None:
            raise NotFound(f"no task run with id {run_id!r}")
        return [run_view(run) for run in data["run"]["dependencies"]]

    async def definitions(self) -> list[dict[str, Any]]:
        """The definitions the server can run, as the API describes them."""
        data = await self.transport.execute("definitions", {})
        definitions: list[dict[str, Any]] = data["definitions"]
        return definitions

    async def schedules(self) -> list[ScheduleView]:
        """The schedules: the definitions' own and those made through the API."""
        data = await self.transport.execute("schedules", {})
        return [schedule_view(s) for s in data["schedules"]]

    async def create_schedule(
        self, definition_id: str, expression: str, timezone: str = "UTC", input: Any = None
    ) -> ScheduleView:
        variables = {
            "definitionId": definition_id,
            "expression": expression,
            "timezone": timezone,
            "input": input,
        }
        data = await self.transport.execute("create_schedule", variables)
        return schedule_view(data["schedule"])

    async def delete_schedule(self, schedule_id: str) -> ScheduleView:
        data = await self.transport.execute("delete_schedule", {"id": schedule_id})
        return schedule_view(data["schedule"])

    async def pause_definition(self, definition_id: str) -> bool:
        """Pauses a whole definition (admins and developers): no worker claims
        its runs until it is resumed."""
        data = await self.transport.execute("pause_definition", {"id": definition_id})
        return bool(data["definition"]["paused"])

    async def resume_definition(self, definition_id: str) -> bool:
        """Resumes a paused definition; False (not paused) once it is."""
        data = await self.transport.execute("resume_definition", {"id": definition_id})
        return not data["definition"]["paused"]

    # --- live streams ----------------------------------------------------------------

    async def watch(self, run_id: str) -> AsyncGenerator[RunView, None]:
        """The run now and after each change, until it ends."""
        async with aclosing(self.transport.subscribe("watch", {"id": run_id})) as stream:
            async for data in stream:
                yield run_view(data["run"])

    async def follow_logs(self, run_id: str) -> AsyncGenerator[LogView, None]:
        """Each new log line of the run, until it ends."""
        subscription = self.transport.subscribe("follow_logs", {"runId": run_id})
        async with aclosing(subscription) as stream:
            async for data in stream:
                yield log_view(data["line"])

    async def wait(
        self,
        run_id: str,
        statuses: Iterable[TaskStatus] = TERMINAL_STATUSES,
        timeout: float | None = None,
    ) -> RunView:
        """The run once it reaches one of `statuses`, followed live; a
        `WaitTimeout` after `timeout` seconds."""
        wanted = frozenset(statuses)
        seen: list[RunView] = []
        scope = asyncio.timeout(timeout)
        try:
            async with scope:
                return await self._follow_until(run_id, wanted, seen)
        except TimeoutError:
            if not scope.expired():
                raise
        status = (seen[-1] if seen else await self.get(run_id)).status.value
        raise WaitTimeout(f"run {run_id} is still {status} after {timeout:g} s")

    async def _follow_until(
        self, run_id: str, wanted: frozenset[TaskStatus], seen: list[RunView]
    ) -> RunView:
        while True:
            async with aclosing(self.watch(run_id)) as updates:
                async for run in updates:
                    seen.append(run)
                    if run.status in wanted:
                        return run
            await asyncio.sleep(RECHECK_SECONDS)  # it ended otherwise; a retry may revive it

    # --- what callers do to a run -----------------------------------------------

    async def abort(
        self, run_id: str, message: str | None = None, *, cascade: bool = True
    ) -> RunView:
        return await self._run("abort", id=run_id, message=message, cascade=cascade)

    async def pause(self, run_id: str) -> RunView:
        return await self._run("pause", id=run_id)

    async def resume(self, run_id: str) -> RunView:
        return await self._run("resume", id=run_id)

    async def retry(self, run_id: str) -> RunView:
        return await self._run("retry", id=run_id)

    async def set_priority(self, run_id: str, priority: int) -> RunView:
        return await self._run("set_priority", id=run_id, priority=priority)

    async def abort_many(
        self,
        where: RunFilter | None = None,
        *,
        limit: int,
        message: str | None = None,
        cascade: bool = True,
    ) -> BulkResult:
        variables = {
            "where": run_filter(where),
            "limit": limit,
            "message": message,
            "cascade": cascade,
        }
        data = await self.transport.execute("abort_many", variables)
        return bulk_result(data["bulk"])

    async def retry_many(self, where: RunFilter | None = None, *, limit: int) -> BulkResult:
        variables = {"where": run_filter(where), "limit": limit}
        data = await self.transport.execute("retry_many", variables)
        return bulk_result(data["bulk"])

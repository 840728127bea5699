"""The backend that works on the database itself through TaskService."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from taskloom.definitions.views import ScheduleView
from taskloom.server.client.base import CliError
from taskloom.server.client.records import definition_record, plain, run_record


def cli_error(exc: Any) -> CliError:
    """A TaskloomError as the command's error: exit status 2 when the
    database was unavailable or Taskloom is misconfigured (the message then
    says what to set too), 1 otherwise."""
    from taskloom.definitions.errors import ConfigurationError, Unavailable

    errors = list(exc.details.get("errors", []))
    if isinstance(exc, ConfigurationError):
        return CliError(str(exc), errors=errors, code=2)
    return CliError(exc.message, errors=errors, code=2 if isinstance(exc, Unavailable) else 1)


class DatabaseBackend:
    """The same calls through TaskService on the database itself (no worker
    runs here: a run triggered this way is executed by `taskloom serve` or
    `taskloom worker` on the same database)."""

    def __init__(self, database_url: str | None) -> None:
        from taskloom.definitions.errors import TaskloomError
        from taskloom.server.taskloom import Taskloom

        self.runner = asyncio.Runner()
        self.taskloom = Taskloom(database_url, worker=False)
        try:
            self.runner.run(self.taskloom.start())
        except TaskloomError as exc:
            self.runner.close()
            raise cli_error(exc) from None
        except BaseException:
            self.runner.close()
            raise

    def close(self) -> None:
        try:
            self.runner.run(self.taskloom.stop())
        finally:
            self.runner.close()

    def _call(self, work: Callable[[], Any]) -> Any:
        from taskloom.definitions.errors import TaskloomError

        async def call() -> Any:
            return await work()

        try:
            return self.runner.run(call())
        except TaskloomError as exc:
            raise cli_error(exc) from None

    def definitions(self) -> list[dict[str, Any]]:
        return [definition_record(d) for d in self.taskloom.service.definitions()]

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]:
        from taskloom.definitions.filters import RunFilter

        service = self.taskloom.service
        statuses = where.get("statuses")
        condition = RunFilter(
            definition_id=where.get("definition_id"),
            statuses=tuple(statuses) if statuses else None,
            parent_id=where.get("parent_id"),
            name_contains=where.get("name_contains"),
            has_errors=where.get("has_errors"),
        )

        async def work() -> tuple[list[dict[str, Any]], int]:
            page = await service.list_runs(condition, first=first)
            return [run_record(r) for r in page.items], await service.count_runs(condition)

        result: tuple[list[dict[str, Any]], int] = self._call(work)
        return result

    def get(self, run_id: str) -> dict[str, Any]:
        service = self.taskloom.service

        async def work() -> dict[str, Any]:
            return run_record(await service.get(run_id))

        result: dict[str, Any] = self._call(work)
        return result

    def dependencies(self, run_id: str) -> list[dict[str, Any]]:
        service = self.taskloom.service

        async def work() -> list[dict[str, Any]]:
            return [run_record(run) for run in await service.dependencies(run_id)]

        result: list[dict[str, Any]] = self._call(work)
        return result

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        service = self.taskloom.service

        async def work() -> tuple[list[dict[str, Any]], str | None]:
            await service.get(run_id)
            page = await service.logs(run_id, first=first, after=after)
            return [plain(asdict(line)) for line in page.items], page.end_cursor or after

        result: tuple[list[dict[str, Any]], str | None] = self._call(work)
        return result

    def trigger(
        self,
        definition: str,
        data: Any,
        name: str | None,
        priority: int,
        delay: int | None,
        *,
        after: list[str] | None = None,
        deadline: float | None = None,
        expires: float | None = None,
    ) -> dict[str, Any]:
        service = self.taskloom.service

        async def work() -> dict[str, Any]:
            view = await service.trigger(
                definition,
                data,
                name=name,
                priority=priority,
                delay=None if delay is None else float(delay),
                after=after,
                deadline=deadline,
                expires=expires,
            )
            return run_record(view)

        result: dict[str, Any] = self._call(work)
        return result

    def trigger_many(
        self, definition: str, inputs: list[Any], priority: int, delay: int | None
    ) -> list[dict[str, Any]]:
        service = self.taskloom.service

        async def work() -> list[dict[str, Any]]:
            views = await service.trigger_many(
                definition, inputs, priority=priority, delay=None if delay is None else float(delay)
            )
            return [run_record(view) for view in views]

        result: list[dict[str, Any]] = self._call(work)
        return result

    def schedules(self) -> list[ScheduleView]:
        found: list[ScheduleView] = self._call(self.taskloom.service.schedules)
        return found

    def create_schedule(
        self, definition_id: str, expression: str, timezone: str, data: Any
    ) -> ScheduleView:
        service = self.taskloom.service
        made: ScheduleView = self._call(
            lambda: service.create_schedule(definition_id, expression, timezone, data)
        )
        return made

    def delete_schedule(self, schedule_id: str) -> ScheduleView:
        gone: ScheduleView = self._call(lambda: self.taskloom.service.delete_schedule(schedule_id))
        return gone

    def switch_definition(self, definition_id: str, pause: bool) -> None:
        service = self.taskloom.service
        switch = service.pause_definition if pause else service.resume_definition
        self._call(lambda: switch(definition_id))

    def control(
        self, action: str, run_id: str, message: str | None, *, cascade: bool = True
    ) -> dict[str, Any]:
        service = self.taskloom.service
        method = getattr(service, action, None)
        if method is None:
            raise CliError(f"this version cannot {action} runs yet")

        async def work() -> dict[str, Any]:
            if action == "abort":
                return run_record(await service.abort(run_id, message, cascade=cascade))
            return run_record(await method(run_id))

        result: dict[str, Any] = self._call(work)
        return result

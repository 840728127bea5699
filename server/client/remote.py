"""The backend that talks to a running server: `taskloom.SyncClient`, so
the commands get the records the database mode gives (`run_record` of the
same `RunView`) and the same errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from taskloom.definitions.errors import TaskloomError
from taskloom.definitions.filters import RunFilter
from taskloom.definitions.views import ScheduleView
from taskloom.server.client.base import CliError
from taskloom.server.client.records import plain, run_record, snake_keys
from taskloom.server.remote import SyncClient

T = TypeVar("T")


class RemoteBackend:
    def __init__(self, url: str, token: str | None) -> None:
        try:
            self.client = SyncClient(url, token)
        except ValueError as exc:
            raise CliError(str(exc)) from None

    def close(self) -> None:
        self.client.close()

    def _call(self, work: Callable[[], T]) -> T:
        try:
            return work()
        except TaskloomError as exc:
            raise CliError(exc.message, errors=list(exc.details.get("errors", []))) from None

    def definitions(self) -> list[dict[str, Any]]:
        return [snake_keys(d) for d in self._call(self.client.definitions)]

    def runs(self, where: dict[str, Any], first: int) -> tuple[list[dict[str, Any]], int]:
        statuses = where.get("statuses")
        condition = RunFilter(
            definition_id=where.get("definition_id"),
            statuses=tuple(statuses) if statuses else None,
            parent_id=where.get("parent_id"),
            name_contains=where.get("name_contains"),
            has_errors=where.get("has_errors"),
        )
        page = self._call(lambda: self.client.list_runs(condition, first=first))
        total = self._call(lambda: self.client.count_runs(condition))
        return [run_record(run) for run in page.items], total

    def schedules(self) -> list[ScheduleView]:
        return self._call(self.client.schedules)

    def create_schedule(
        self, definition_id: str, expression: str, timezone: str, data: Any
    ) -> ScheduleView:
        client = self.client
        return self._call(lambda: client.create_schedule(definition_id, expression, timezone, data))

    def delete_schedule(self, schedule_id: str) -> ScheduleView:
        return self._call(lambda: self.client.delete_schedule(schedule_id))

    def switch_definition(self, definition_id: str, pause: bool) -> None:
        client = self.client
        switch = client.pause_definition if pause else client.resume_definition
        self._call(lambda: switch(definition_id))

    def get(self, run_id: str) -> dict[str, Any]:
        return run_record(self._call(lambda: self.client.get(run_id)))

    def dependencies(self, run_id: str) -> list[dict[str, Any]]:
        return [run_record(run) for run in self._call(lambda: self.client.dependencies(run_id))]

    def logs(
        self, run_id: str, after: str | None, first: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        page = self._call(lambda: self.client.logs(run_id, first=first, after=after))
        return [plain(asdict(line)) for line in page.items], page.end_cursor or after

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
        run = self._call(
            lambda: self.client.trigger(
                definition,
                data,
                name=name,
                priority=priority,
                delay=None if delay is None else float(delay),
                after=after,
                deadline=deadline,
                expires=expires,
            )
        )
        return run_record(run)

    def trigger_many(
        self, definition: str, inputs: list[Any], priority: int, delay: int | None
    ) -> list[dict[str, Any]]:
        runs = self._call(
            lambda: self.client.trigger_many(
                definition,
                inputs,
                priority=priority,
                delay=None if delay is None else float(delay),
            )
        )
        return [run_record(run) for run in runs]

    def control(
        self, action: str, run_id: str, message: str | None, *, cascade: bool = True
    ) -> dict[str, Any]:
        if action == "abort":
            return run_record(
                self._call(lambda: self.client.abort(run_id, message, cascade=cascade))
            )
        method: Callable[[str], Any] = getattr(self.client, action)
        return run_record(self._call(lambda: method(run_id)))

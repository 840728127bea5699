"""`SyncClient`: `Client` without asyncio, as `SyncTaskService` is
`TaskService` without asyncio (both are a `SyncTwin`).

    with SyncClient("https://tasks.example.com", token) as tasks:
        run = tasks.trigger("send-report", {"to": "ops"})
        for update in tasks.watch(run.id):
            print(update.status, update.progress)
"""

from __future__ import annotations

from typing import Any

from taskloom.definitions.views import ScheduleView
from taskloom.server.remote.client import Client
from taskloom.server.sync_twin import SyncTwin, start_loop, stop_loop


class SyncClient(SyncTwin):
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 30.0) -> None:
        """As `Client(url, token)`; its loop runs in a thread of its own
        until `close()`."""
        loop, self._thread = start_loop("taskloom-client")
        self.client = Client(url, token, timeout=timeout)
        super().__init__(self.client, loop)
        self._closed = False

    def definitions(self) -> list[dict[str, Any]]:
        return self._call(self.client.definitions())

    def schedules(self) -> list[ScheduleView]:
        return self._call(self.client.schedules())

    def create_schedule(
        self, definition_id: str, expression: str, timezone: str = "UTC", input: Any = None
    ) -> ScheduleView:
        return self._call(self.client.create_schedule(definition_id, expression, timezone, input))

    def delete_schedule(self, schedule_id: str) -> ScheduleView:
        return self._call(self.client.delete_schedule(schedule_id))

    def pause_definition(self, definition_id: str) -> bool:
        return self._call(self.client.pause_definition(definition_id))

    def resume_definition(self, definition_id: str) -> bool:
        return self._call(self.client.resume_definition(definition_id))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._close_streams()
            self._call(self.client.aclose())
        finally:
            stop_loop(self.loop, self._thread)

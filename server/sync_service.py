"""`SyncTaskService`: the synchronous twin of `TaskService`, for backends
that are not async (Flask, Django views, scripts).

Every method has the same name, arguments, results and errors as the async
one; it runs on an event loop in a background thread (its own, or that of a
running `Taskloom`), so it is safe to call from many threads at once. A
transactional trigger takes the caller's synchronous SQLAlchemy/SQLModel
`Session`: the run is validated on the loop and inserted through that
session in the caller's thread, so it commits or rolls back with the
caller's own writes.

    with SyncTaskService.open("sqlite+aiosqlite:///./tasks.db",
                              definitions=["myapp.tasks"]) as tasks:
        run = tasks.trigger("send-report", {"to": "ops"})
        tasks.wait(run.id, timeout=60)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from taskloom.definitions.records import WaitReason
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import LogView, ScheduleView
from taskloom.server.service.triggering import DeferredInsert
from taskloom.server.store.session_runs import insert_in_sync_session
from taskloom.server.sync_twin import SyncTwin, start_loop, stop_loop

if TYPE_CHECKING:
    from taskloom.server.service import TaskService
    from taskloom.server.taskloom import Taskloom


class SyncTaskService(SyncTwin):
    """`SyncTwin`'s methods on a `TaskService`, and those only the service has."""

    def __init__(self, service: TaskService, loop: asyncio.AbstractEventLoop) -> None:
        """Wraps a started `TaskService` whose loop runs in another thread."""
        super().__init__(service, loop)
        self.service = service
        self._owned: tuple[Taskloom, threading.Thread] | None = None

    @classmethod
    def open(
        cls,
        database_url: str | None = None,
        definitions: Iterable[Any] = (),
        *,
        worker: bool = False,
        **options: Any,
    ) -> SyncTaskService:
        """Starts a `Taskloom` (by default without a worker: the API side
        only) on a loop in a background thread; `close()` stops it."""
        from taskloom.server.taskloom import Taskloom

        loop, thread = start_loop("taskloom-sync")
        app = Taskloom(database_url, definitions, worker=worker, **options)
        try:
            asyncio.run_coroutine_threadsafe(app.start(), loop).result()
        except BaseException:
            stop_loop(loop, thread)
            raise
        twin = cls(app.service, loop)
        twin._owned = (app, thread)
        return twin

    def close(self) -> None:
        if self._owned is None:
            return
        app, thread = self._owned
        self._owned = None
        try:
            self._close_streams()
            self._call(app.stop())
        finally:
            stop_loop(self.loop, thread)

    # --- triggering -------------------------------------------------------------

    def trigger(self, definition: Any, input: Any = None, **options: Any) -> RunView:
        """As `TaskService.trigger`; `session=` takes a synchronous Session."""
        session = options.pop("session", None)
        if session is None:
            return self._call(self.service.trigger(definition, input, **options))
        if not isinstance(session, Session):
            raise TypeError("session must be a synchronous SQLAlchemy Session")
        deferred = DeferredInsert()
        view = self._call(self.service.trigger(definition, input, session=deferred, **options))
        row = deferred.row
        assert row is not None
        insert_in_sync_session(self.service.database, session, [row], self.loop)
        return view

    # --- control ------------------------------------------------------------------

    def delete(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.service.delete(run_id, **options))

    def purge_finished(self, older_than_days: float, **options: Any) -> int:
        return self._call(self.service.purge_finished(older_than_days, **options))

    def log(
        self, run_id: str, level: Any, message: str, data: Any = None, **options: Any
    ) -> LogView:
        return self._call(self.service.log(run_id, level, message, data, **options))

    # --- reading ------------------------------------------------------------------

    def definitions(self) -> list[Any]:
        return self.service.definitions()

    def count_logs(self, where: Any, **options: Any) -> int:
        return self._call(self.service.count_logs(where, **options))

    def schedules(self) -> list[ScheduleView]:
        return self._call(self.service.schedules())

    def set_schedule_enabled(
        self, definition_id: str, enabled: bool, **options: Any
    ) -> ScheduleView:
        return self._call(self.service.set_schedule_enabled(definition_id, enabled, **options))

    def create_schedule(
        self,
        definition_id: str,
        expression: str,
        timezone: str = "UTC",
        input: Any = None,
        **options: Any,
    ) -> ScheduleView:
        return self._call(
            self.service.create_schedule(definition_id, expression, timezone, input, **options)
        )

    def delete_schedule(self, schedule_id: str, **options: Any) -> ScheduleView:
        return self._call(self.service.delete_schedule(schedule_id, **options))

    def pause_definition(self, definition_id: str, **options: Any) -> bool:
        return self._call(self.service.pause_definition(definition_id, **options))

    def resume_definition(self, definition_id: str, **options: Any) -> bool:
        return self._call(self.service.resume_definition(definition_id, **options))

    def paused_definitions(self) -> set[str]:
        return self._call(self.service.paused_definitions())

    def waiting_reasons(self, run_ids: Sequence[str]) -> list[WaitReason | None]:
        return self._call(self.service.waiting_reasons(run_ids))

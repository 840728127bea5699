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
from collections.abc import Coroutine, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import LogView, Page, ResultView, ScheduleView
from taskloom.server.service.triggering import DeferredInsert
from taskloom.server.store.session_runs import insert_in_sync_session

if TYPE_CHECKING:
    from taskloom.server.service import TaskService
    from taskloom.server.taskloom import Taskloom

T = TypeVar("T")


class SyncTaskService:
    def __init__(self, service: TaskService, loop: asyncio.AbstractEventLoop) -> None:
        """Wraps a started `TaskService` whose loop runs in another thread."""
        self.service = service
        self.loop = loop
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

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="taskloom-sync", daemon=True)
        thread.start()
        app = Taskloom(database_url, definitions, worker=worker, **options)
        try:
            asyncio.run_coroutine_threadsafe(app.start(), loop).result()
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
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
            self._call(app.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            thread.join()
            self.loop.close()

    def __enter__(self) -> SyncTaskService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            coroutine.close()
            raise RuntimeError("SyncTaskService cannot be called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

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

    def trigger_many(self, definition: Any, inputs: Iterable[Any], **options: Any) -> list[RunView]:
        return self._call(self.service.trigger_many(definition, list(inputs), **options))

    # --- control ------------------------------------------------------------------

    def abort(self, run_id: str, message: str | None = None, **options: Any) -> RunView:
        return self._call(self.service.abort(run_id, message, **options))

    def pause(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.service.pause(run_id, **options))

    def resume(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.service.resume(run_id, **options))

    def retry(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.service.retry(run_id, **options))

    def set_priority(self, run_id: str, priority: int, **options: Any) -> RunView:
        return self._call(self.service.set_priority(run_id, priority, **options))

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

    def find(self, run_id: str, **options: Any) -> RunView | None:
        return self._call(self.service.find(run_id, **options))

    def get(self, run_id: str, **options: Any) -> RunView:
        return self._call(self.service.get(run_id, **options))

    def list_runs(self, where: Any = None, **options: Any) -> Page[RunView]:
        return self._call(self.service.list_runs(where, **options))

    def count_runs(self, where: Any = None, **options: Any) -> int:
        return self._call(self.service.count_runs(where, **options))

    def logs(self, run_id: str | None = None, **options: Any) -> Page[LogView]:
        return self._call(self.service.logs(run_id, **options))

    def count_logs(self, where: Any, **options: Any) -> int:
        return self._call(self.service.count_logs(where, **options))

    def history(self, run_id: str, **options: Any) -> list[ResultView]:
        return self._call(self.service.history(run_id, **options))

    def wait(self, run_id: str, *args: Any, **options: Any) -> RunView:
        return self._call(self.service.wait(run_id, *args, **options))

    def schedules(self) -> list[ScheduleView]:
        return self._call(self.service.schedules())

    def set_schedule_enabled(
        self, definition_id: str, enabled: bool, **options: Any
    ) -> ScheduleView:
        return self._call(self.service.set_schedule_enabled(definition_id, enabled, **options))

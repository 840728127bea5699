"""What callers do to a run that exists: abort, pause, resume, retry,
change its priority, delete it, purge old finished runs, and log to it
from backend code. Every refusal is a `Conflict` (GraphQL: CONFLICT).

`actor` is the caller already resolved by `TaskService` (None: the system)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import Conflict, InvalidInput
from taskloom.definitions.records import LogLevel, RunError, RunRequest, TaskStatus
from taskloom.definitions.run_view import RunView
from taskloom.definitions.text_limits import LOG_MESSAGE_CHARS, MESSAGE_CHARS
from taskloom.definitions.views import LogView
from taskloom.server.auth.identity import Actor, require_admin, require_trigger
from taskloom.server.engine.retry_input import RetryRefused, retry_input
from taskloom.server.events.hub import Event
from taskloom.server.service.abort_hook import call_on_abort
from taskloom.server.service.input_checks import PRIORITY_RANGE, check_length
from taskloom.server.service.presenter import RunPresenter
from taskloom.server.service.reader import RunReader
from taskloom.server.store.deletion import DeleteRun, PurgeFinished
from taskloom.server.store.run_logs import AppendLog
from taskloom.server.store.run_requests import Abort, Pause, Resume, RetryByRequest, SetPriority
from taskloom.server.store.run_rows import load_run
from taskloom.server.store.waits import SettleWaits

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.events.hub import EventHub
    from taskloom.server.store.database import Database

PURGE_BATCH = 500


class RunActions:
    def __init__(
        self,
        database: Database,
        registry: Registry,
        hub: EventHub,
        presenter: RunPresenter,
        reader: RunReader,
    ) -> None:
        self.database = database
        self.registry = registry
        self.hub = hub
        self.presenter = presenter
        self.reader = reader

    def _changed(self, row: RowMapping, finished: bool = False) -> None:
        data = {"definition_id": row["definition_id"], "finished": finished}
        self.hub.publish(Event("run", row["id"], row["status"], data))

    async def abort(
        self, run_id: str, message: str | None, cascade: bool, actor: Actor | None
    ) -> RunView:
        check_length("message", message, MESSAGE_CHARS)
        await self.reader.get(run_id, actor)
        op = Abort(
            run_id,
            message,
            self.database.clock(),
            by=None if actor is None else actor.owner,
            cascade=cascade,
            owner=None if actor is None or actor.reads_all else actor.owner,
            abortable=self.presenter.abortable,
        )
        for aborted in await self.database.run_write(op):
            row = aborted.row
            if aborted.action == "requested":
                self.hub.notify_request(row["id"], RunRequest.ABORT)
            else:
                await call_on_abort(self.database, self.registry, row)
            self._changed(row, finished=aborted.action != "requested")
        return await self.reader.get(run_id, actor)

    async def pause(self, run_id: str, actor: Actor | None) -> RunView:
        run = await self.reader.get(run_id, actor)
        pausable = self.presenter.pausable(run.definition_id)
        action, row = await self.database.run_write(
            Pause(run_id, self.database.clock(), pausable=pausable)
        )
        if action == "requested":
            self.hub.notify_request(run_id, RunRequest.PAUSE)
        self._changed(row)
        return self.presenter.view(row)

    async def resume(self, run_id: str, actor: Actor | None) -> RunView:
        await self.reader.get(run_id, actor)
        row = await self.database.run_write(Resume(run_id, self.database.clock()))
        self._changed(row)
        self.hub.notify_due()
        return self.presenter.view(row)

    async def retry(self, run_id: str, actor: Actor | None) -> RunView:
        await self.reader.get(run_id, actor)
        current = await self.database.read(lambda c: load_run(c, run_id))
        definition = self.registry.find(current["definition_id"])
        if definition is not None:  # a retry runs it again: a trigger's roles apply
            require_trigger(actor, definition.id, definition.roles)
        if current["status"] not in (TaskStatus.FAILED, TaskStatus.ABORTED):
            refused: RowMapping = await self.database.run_write(
                RetryByRequest(run_id, self.database.clock())
            )
            return self.presenter.view(refused)
        new_input = None
        if definition is not None:
            error = None
            if current["error_message"] is not None or current["error_code"] is not None:
                error = RunError(
                    current["error_message"] or "", current["error_code"], current["error_data"]
                )
            try:
                new_input = await retry_input(definition(), current["input"], error)
            except RetryRefused as refusal:
                raise Conflict(str(refusal)) from None
        row = await self.database.run_write(
            RetryByRequest(run_id, self.database.clock(), new_input)
        )
        if row["waiting"] is not None:  # its dependencies may have SUCCEEDED already
            await self.database.run_write(SettleWaits(self.database.clock()))
            row = await self.database.read(lambda c: load_run(c, run_id))
        self._changed(row)
        self.hub.notify_due()
        return self.presenter.view(row)

    async def set_priority(self, run_id: str, priority: int, actor: Actor | None) -> RunView:
        if not -PRIORITY_RANGE <= priority <= PRIORITY_RANGE:
            raise InvalidInput(
                "priority: must be between -1000000 and 1000000",
                errors=[{"loc": ["priority"], "message": "out of range"}],
            )
        await self.reader.get(run_id, actor)
        row = await self.database.run_write(SetPriority(run_id, priority, self.database.clock()))
        self._changed(row)
        return self.presenter.view(row)

    async def delete(self, run_id: str, actor: Actor | None) -> RunView:
        require_admin(actor, "delete runs")
        await self.reader.get(run_id, actor)
        row = await self.database.run_write(DeleteRun(run_id))
        return self.presenter.view(row)

    async def purge_finished(
        self, older_than_days: float, batch_size: int, actor: Actor | None
    ) -> int:
        require_admin(actor, "purge runs")
        if older_than_days < 0 or batch_size < 1:
            raise InvalidInput(
                "older_than_days must be >= 0 and batch_size >= 1",
                errors=[{"loc": ["older_than_days"], "message": "out of range"}],
            )
        before = self.database.clock() - older_than_days * 86_400
        total = 0
        while True:
            deleted = await self.database.run_write(PurgeFinished(before, batch_size))
            total += deleted
            if deleted < batch_size:
                return total

    async def log(
        self, run_id: str, level: LogLevel | str, message: str, data: Any, actor: Actor | None
    ) -> LogView:
        try:
            chosen = LogLevel(str(level).upper())
        except ValueError:
            raise InvalidInput(
                f"level: must be one of {', '.join(LogLevel)}",
                errors=[{"loc": ["level"], "message": "unknown level"}],
            ) from None
        check_length("message", str(message), LOG_MESSAGE_CHARS)
        await self.reader.get(run_id, actor)
        line = await self.database.run_write(
            AppendLog(
                {
                    "run_id": run_id,
                    "level": chosen.value,
                    "message": str(message),
                    "data": data,
                    "created_at": self.database.clock(),
                }
            )
        )
        self.hub.publish(Event("log", run_id, data=line))
        return LogView.from_row(line)

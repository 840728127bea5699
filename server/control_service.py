"""The run-control half of `TaskService`: pause, resume, retry, priority,
deletion and retention, and logging to a run from backend code.

`TaskService` inherits these methods; they share its database, registry and
event hub. Every refusal is a `Conflict` (GraphQL: CONFLICT)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from taskloom.definitions.errors import InvalidInput, NotFound
from taskloom.definitions.records import LogLevel, RunError
from taskloom.server.auth.identity import Actor, require_admin
from taskloom.server.engine.control import retry_input
from taskloom.server.events import Event
from taskloom.server.store.control import load_run
from taskloom.server.store.models import runs
from taskloom.server.store.run_control import (
    AppendLog,
    DeleteRun,
    Pause,
    PurgeFinished,
    Resume,
    Retry,
    SetPriority,
)
from taskloom.server.store.schedules import SetScheduleEnabled, list_schedules
from taskloom.server.views import LogView, RunView, ScheduleView

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.events import EventHub
    from taskloom.server.store.database import Database

PURGE_BATCH = 500
PRIORITY_RANGE = 1_000_000


class DeferredInsert:
    """Handed to `trigger(session=...)` by the synchronous twin: the row is
    validated on the service's loop and inserted in the caller's thread."""

    row: dict[str, Any] | None = None


def announce_on_commit(
    sync_session: Session, loop: asyncio.AbstractEventLoop, announce: Callable[[], None]
) -> None:
    """Calls `announce` on `loop` once the session commits; nothing on rollback."""
    settled: list[bool] = []

    def committed(_session: Session) -> None:
        if not settled:
            settled.append(True)
            loop.call_soon_threadsafe(announce)

    def rolled_back(_session: Session, _previous: Any = None) -> None:
        settled.append(False)

    # Listeners cannot be removed while the session dispatches them, so each
    # fires once and the first of the two settles the trigger.
    event.listen(sync_session, "after_commit", committed, once=True)
    event.listen(sync_session, "after_soft_rollback", rolled_back, once=True)


class RunControl:
    database: Database
    registry: Registry
    hub: EventHub

    async def get(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        raise NotImplementedError

    def _who(self, actor: Actor | None) -> Actor | None:
        raise NotImplementedError

    def _view(self, row: RowMapping | dict[str, Any], *, deferred: bool = False) -> RunView:
        """A run as clients see it, with what its definition allows;
        `deferred` for rows just read, whose fields are converted as read."""
        make = RunView.deferred if deferred else RunView.from_row
        return make(row, pausable=self._pausable(row["definition_id"]))

    def _pausable(self, definition_id: str) -> bool:
        """Whether runs of the definition may be paused (an unknown one: yes)."""
        definition = self.registry.find(definition_id)
        return definition is None or bool(getattr(definition, "pausable", True))

    def _announce(self, rows: Sequence[dict[str, Any]]) -> None:
        raise NotImplementedError

    async def _insert_in_session(self, session: Any, row: dict[str, Any]) -> None:
        """The transactional trigger: the run is inserted through the caller's
        session (AsyncSession or Session), so it commits or rolls back with
        the caller's own writes; workers are woken after the commit."""
        if isinstance(session, DeferredInsert):  # the sync twin inserts it itself
            session.row = row
            return
        loop = asyncio.get_running_loop()
        sync_session = session.sync_session if isinstance(session, AsyncSession) else session
        if not isinstance(sync_session, Session):
            raise TypeError("session must be a SQLAlchemy Session or AsyncSession")
        announce_on_commit(sync_session, loop, lambda: self._announce([row]))
        statement = insert(runs)
        if isinstance(session, AsyncSession):
            await session.execute(statement, [row])
        else:
            session.execute(statement, [row])

    def _changed(self, row: RowMapping, finished: bool = False) -> None:
        data = {"definition_id": row["definition_id"], "finished": finished}
        self.hub.publish(Event("run", row["id"], row["status"], data))

    async def pause(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """A pending run is PAUSED at once; a running one gets a PAUSE request
        and is PAUSED after its iteration, with its state saved. Refused
        (Conflict) for finished or paused runs, runs with a pending request,
        and definitions with `pausable = False`."""
        run = await self.get(run_id, actor=actor)
        pausable = self._pausable(run.definition_id)
        action, row = await self.database.run_write(
            Pause(run_id, self.database.clock(), pausable=pausable), inline=True
        )
        if action == "requested":
            self.hub.notify_request(run_id, "PAUSE")
        self._changed(row)
        return self._view(row)

    async def resume(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """A PAUSED run is PENDING again and continues from its saved state."""
        await self.get(run_id, actor=actor)
        row = await self.database.run_write(Resume(run_id, self.database.clock()), inline=True)
        self._changed(row)
        self.hub.notify_due()
        return self._view(row)

    async def retry(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """Re-queues a FAILED or ABORTED run as its next attempt, keeping its
        state, logs and history. The definition's `on_retry(input, error)`
        may change the input first, as it does for automatic retries."""
        await self.get(run_id, actor=actor)
        current = await self.database.read(lambda c: load_run(c, run_id))
        if current["status"] not in ("FAILED", "ABORTED"):
            refused: RowMapping = await self.database.run_write(
                Retry(run_id, self.database.clock()), inline=True
            )
            return self._view(refused)
        new_input = None
        definition = self.registry.find(current["definition_id"])
        if definition is not None:
            error = None
            if current["error_message"] is not None or current["error_code"] is not None:
                error = RunError(
                    current["error_message"] or "", current["error_code"], current["error_data"]
                )
            new_input = await retry_input(definition(), current["input"], error)
        row = await self.database.run_write(
            Retry(run_id, self.database.clock(), new_input), inline=True
        )
        self._changed(row)
        self.hub.notify_due()
        return self._view(row)

    async def set_priority(
        self, run_id: str, priority: int, *, actor: Actor | None = None
    ) -> RunView:
        """Changes the priority of a run that has not ended; claims take
        higher priorities first."""
        if not -PRIORITY_RANGE <= priority <= PRIORITY_RANGE:
            raise InvalidInput(
                "priority: must be between -1000000 and 1000000",
                errors=[{"loc": ["priority"], "message": "out of range"}],
            )
        await self.get(run_id, actor=actor)
        row = await self.database.run_write(
            SetPriority(run_id, priority, self.database.clock()), inline=True
        )
        self._changed(row)
        return self._view(row)

    async def delete(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        """Deletes a finished run with its logs and history and returns it as
        it was; a run that has not ended is a Conflict. Admins only when an
        actor is given."""
        require_admin(self._who(actor), "delete runs")
        await self.get(run_id, actor=actor)
        row = await self.database.run_write(DeleteRun(run_id))
        return self._view(row)

    async def purge_finished(
        self, older_than_days: float, *, batch_size: int = PURGE_BATCH, actor: Actor | None = None
    ) -> int:
        """Deletes runs that finished more than `older_than_days` ago, with
        their logs and history, one short transaction per batch. Returns how
        many runs were deleted. Admins only when an actor is given."""
        require_admin(self._who(actor), "purge runs")
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
        self,
        run_id: str,
        level: LogLevel | str,
        message: str,
        data: Any = None,
        *,
        actor: Actor | None = None,
    ) -> LogView:
        """Appends a log line to any run from backend code; an ERROR line
        sets the run's `has_errors`."""
        try:
            chosen = LogLevel(str(level).upper())
        except ValueError:
            raise InvalidInput(
                f"level: must be one of {', '.join(LogLevel)}",
                errors=[{"loc": ["level"], "message": "unknown level"}],
            ) from None
        await self.get(run_id, actor=actor)
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

    # --- schedules ------------------------------------------------------------

    async def schedules(self) -> list[ScheduleView]:
        """The schedules of the definitions that declare one."""
        rows = await self.database.read(list_schedules)
        return [ScheduleView.from_row(r) for r in rows if r["definition_id"] in self.registry]

    async def set_schedule_enabled(
        self, definition_id: str, enabled: bool, *, actor: Actor | None = None
    ) -> ScheduleView:
        """Turns a definition's schedule on or off (admins only when an actor
        is given). Turned on again, it starts from its next tick."""
        from taskloom.server.engine.scheduler import next_tick

        require_admin(self._who(actor), "change schedules")
        definition = self.registry.get(definition_id)
        expression = getattr(definition, "schedule", None)
        if not expression:
            raise NotFound(f"definition {definition_id!r} has no schedule")
        timezone = str(getattr(definition, "schedule_timezone", "UTC") or "UTC")
        now = self.database.clock()
        row = await self.database.run_write(
            SetScheduleEnabled(definition_id, enabled, next_tick(expression, timezone, now), now)
        )
        return ScheduleView.from_row(row)

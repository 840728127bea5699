"""The triggering part of `TaskService`: creating runs, one at a time or
many in one transaction (or in a caller's session), and announcing them to
workers and subscribers.

`TaskService` inherits these methods; they share its database, registry,
event hub and acting identity. Input and options are checked first
(`server/input_checks.py`): a refusal writes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from taskloom.server.auth.identity import Actor, require_trigger
from taskloom.server.events import Event
from taskloom.server.input_checks import InputChecks, is_hookless
from taskloom.server.store.rows import another_run_row, concurrency_key_of, due_after, new_run_row
from taskloom.server.store.run_control import InsertIdempotent
from taskloom.server.store.writes import InsertRuns
from taskloom.server.views import RunView

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskloom.server.events import EventHub
    from taskloom.server.store.database import Database


class Triggering(InputChecks):
    database: Database
    hub: EventHub

    if TYPE_CHECKING:  # provided by TaskService and the other halves it inherits

        async def get(self, run_id: str, *, actor: Actor | None = None) -> RunView: ...

        def _who(self, actor: Actor | None) -> Actor | None: ...

        def _view(self, row: RowMapping | dict[str, Any], *, deferred: bool = False) -> RunView: ...

        async def _insert_in_session(self, session: Any, row: dict[str, Any]) -> None: ...

    async def _row(
        self,
        ref: Any,
        raw: Any,
        *,
        name: str | None,
        delay: float | None,
        run_at: datetime | None,
        priority: int,
        parent_id: str | None,
        created_by: str | None,
        now: float,
        idempotency_key: str | None = None,
        simulate: bool = False,
    ) -> dict[str, Any]:
        definition = self.registry.resolve(ref)
        self._check_size(raw)
        self._check_options(name, delay, run_at, priority, idempotency_key)
        data = await self._prepare_input(definition, raw, is_hookless(definition))
        return new_run_row(
            definition_id=definition.id,
            input=data,
            now=now,
            run_at=due_after(now, run_at if run_at is not None else delay),
            name=name,
            priority=priority,
            parent_id=parent_id,
            created_by=created_by,
            idempotency_key=idempotency_key,
            simulate=simulate,
            concurrency_key=concurrency_key_of(definition, data),
        )

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
        created_by: str | None = None,
        actor: Actor | None = None,
        idempotency_key: str | None = None,
        simulate: bool = False,
        session: Any = None,
    ) -> RunView:
        """Creates a PENDING run; durable once this returns.

        `idempotency_key`: a second trigger of the same definition with the
        same key returns the first run instead of creating another.
        `simulate`: the run sees `runtime.simulate` true.
        `session`: a caller's SQLAlchemy/SQLModel session (async or sync) on
        the same database; the run is written in its transaction, so it
        exists only once the caller commits."""
        who = self._who(actor)
        chosen = self.registry.resolve(definition)
        require_trigger(who, chosen.id, chosen.roles)
        if who is not None:
            created_by = who.owner
        if parent_id is not None:
            await self.get(parent_id, actor=who)
        row = await self._row(
            definition,
            input,
            name=name,
            delay=delay,
            run_at=run_at,
            priority=priority,
            parent_id=parent_id,
            created_by=created_by,
            now=self.database.clock(),
            idempotency_key=idempotency_key,
            simulate=simulate,
        )
        if session is not None:
            await self._insert_in_session(session, row)
            return self._view(row)
        if idempotency_key is not None:
            created, found = await self.database.run_write(InsertIdempotent(row), inline=True)
            if not created:
                return self._view(found)
        else:
            await self.database.run_write(InsertRuns([row]), inline=True)
        self._announce([row])
        return self._view(row)

    async def trigger_many(
        self,
        definition: Any,
        inputs: Iterable[Any],
        *,
        delay: float | None = None,
        run_at: datetime | None = None,
        priority: int = 0,
        created_by: str | None = None,
        actor: Actor | None = None,
    ) -> list[RunView]:
        """Creates many runs in one transaction: all or none."""
        who = self._who(actor)
        chosen = self.registry.resolve(definition)
        require_trigger(who, chosen.id, chosen.roles)
        if who is not None:
            created_by = who.owner
        now = self.database.clock()
        hookless = is_hookless(chosen)
        rows: list[dict[str, Any]] = []
        for raw in inputs:
            if not rows:
                # The first run is checked and built as trigger() builds one;
                # the others copy it but for their own id, input and key.
                first = await self._row(
                    chosen,
                    raw,
                    name=None,
                    delay=delay,
                    run_at=run_at,
                    priority=priority,
                    parent_id=None,
                    created_by=created_by,
                    now=now,
                )
                rows.append(first)
                continue
            self._check_size(raw)
            data = await self._prepare_input(chosen, raw, hookless)
            rows.append(another_run_row(rows[0], data, concurrency_key_of(chosen, data)))
        if not rows:
            return []
        await self.database.run_write(InsertRuns(rows), inline=True)
        self._announce(rows)
        return self._sibling_views(rows)

    def _sibling_views(self, rows: list[dict[str, Any]]) -> list[RunView]:
        """The views of rows made by `another_run_row` from `rows[0]`: equal
        but for id and input, so the others are copies of the first view
        with those two fields set as `RunView.from_row` sets them (a test
        holds them to `from_row`)."""
        first = self._view(rows[0])
        views = [first]
        base = getattr(first, "__dict__", None)
        if base is None:  # a view without __dict__ (slots): build each
            return views + [self._view(row) for row in rows[1:]]
        for row in rows[1:]:
            view = object.__new__(RunView)  # frozen: fill its fields directly
            fields = vars(view)
            fields.update(base)
            fields["id"] = row["id"]
            fields["input"] = row["input"] or {}
            views.append(view)
        return views

    def _announce(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            data = {"definition_id": row["definition_id"], "triggered": True}
            self.hub.publish(Event("run", row["id"], "PENDING", data))
        self.hub.notify_due()

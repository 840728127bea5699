"""Triggering runs for the service: one at a time, many in one
transaction, or in a caller's own session (the sync twin hands a
`DeferredInsert` and inserts the row in its caller's thread). Their commit
announces them (the store's on-commit callback). Input and options are
checked first (`input_checks.py`): a refusal writes nothing.

`actor` is the caller already resolved by `TaskService` (None: the system)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.errors import InvalidInput
from taskloom.definitions.run_view import RunView
from taskloom.server import tracing
from taskloom.server.auth.identity import Actor, require_trigger
from taskloom.server.service.input_checks import (
    InputChecks,
    check_after,
    check_bounds,
    check_options,
    is_hookless,
    storable_fields,
)
from taskloom.server.service.presenter import RunPresenter
from taskloom.server.service.reader import RunReader
from taskloom.server.store.new_runs import (
    InsertIdempotent,
    InsertRuns,
    another_run_row,
    concurrency_key_of,
    due_after,
    life_bounds,
    new_run_row,
)
from taskloom.server.store.run_dependencies import InsertAfter
from taskloom.server.store.session_runs import insert_in_session
from taskloom.server.store.waits import SettleWaits

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.store.database import Database


class DeferredInsert:
    """Handed to `trigger(session=...)` by the synchronous twin: the row is
    validated on the service's loop and inserted in the caller's thread."""

    row: dict[str, Any] | None = None


class Triggerer:
    def __init__(
        self,
        database: Database,
        registry: Registry,
        checks: InputChecks,
        presenter: RunPresenter,
        reader: RunReader,
    ) -> None:
        self.database = database
        self.registry = registry
        self.checks = checks
        self.presenter = presenter
        self.reader = reader

    async def _checked_row(
        self,
        definition: type[TaskDefinition[Any]],
        raw: Any,
        now: float,
        *,
        name: str | None,
        delay: float | None,
        run_at: datetime | None,
        priority: int,
        parent_id: str | None,
        created_by: str | None,
        idempotency_key: str | None = None,
        simulate: bool = False,
        deadline: float | None = None,
        expires: float | datetime | None = None,
    ) -> dict[str, Any]:
        """A new run's row, once its input and options passed the checks."""
        self.checks.check_size(raw)
        check_options(name, delay, run_at, priority, idempotency_key)
        check_bounds(deadline, expires)
        text = storable_fields(definition.id, name=name, key=idempotency_key, input=raw)
        data = await self.checks.prepare(definition, text["input"], is_hookless(definition))
        due = due_after(now, run_at if run_at is not None else delay)
        deadline_seconds, expires_at = life_bounds(definition, due, deadline, expires)
        return new_run_row(
            definition_id=definition.id,
            input=data,
            now=now,
            run_at=due,
            name=text["name"],
            priority=priority,
            parent_id=parent_id,
            created_by=created_by,
            idempotency_key=text["key"],
            simulate=simulate,
            concurrency_key=concurrency_key_of(definition, data),
            deadline_seconds=deadline_seconds,
            expires_at=expires_at,
        )

    async def trigger(
        self,
        definition: Any,
        input: Any,
        *,
        name: str | None,
        delay: float | None,
        run_at: datetime | None,
        priority: int,
        parent_id: str | None,
        created_by: str | None,
        actor: Actor | None,
        idempotency_key: str | None,
        simulate: bool,
        session: Any,
        after: Sequence[str] | None = None,
        deadline: float | None = None,
        expires: float | datetime | None = None,
    ) -> RunView:
        chosen = self.registry.resolve(definition)
        require_trigger(actor, chosen.id, chosen.roles)
        if actor is not None:
            created_by = actor.owner
        if parent_id is not None:
            await self.reader.get(parent_id, actor)
        if after:
            check_after(after, session, idempotency_key)
            for run_id in after:  # NotFound for a run the caller may not see
                await self.reader.get(run_id, actor)
        with tracing.trigger_span(chosen.id) as traceparent:
            row = await self._checked_row(
                chosen,
                input,
                self.database.clock(),
                name=name,
                delay=delay,
                run_at=run_at,
                priority=priority,
                parent_id=parent_id,
                created_by=created_by,
                idempotency_key=idempotency_key,
                simulate=simulate,
                deadline=deadline,
                expires=expires,
            )
            row["traceparent"] = traceparent
            if after:
                row = await self.database.run_write(InsertAfter(row, after))
                if row["waiting"] is not None:
                    # A dependency may have ended as this was written, or before.
                    await self.database.run_write(SettleWaits(self.database.clock()))
                return await self.reader.get(row["id"], actor)
            if isinstance(session, DeferredInsert):  # the sync twin inserts it itself
                session.row = row
                return self.presenter.view(row)
            if session is not None:  # announced once the caller's session commits
                await insert_in_session(self.database, session, [row])
                return self.presenter.view(row)
            if idempotency_key is not None:
                created, found = await self.database.run_write(InsertIdempotent(row))
                if not created:
                    return self.presenter.view(found)
            else:
                await self.database.run_write(InsertRuns([row]))  # announced by its commit
            # Deferred: the row is ours and written; a caller that reads the
            # id alone (most do) converts no times.
            return self.presenter.view(row, deferred=True)

    async def trigger_many(
        self,
        definition: Any,
        inputs: Iterable[Any],
        *,
        delay: float | None,
        run_at: datetime | None,
        priority: int,
        created_by: str | None,
        actor: Actor | None,
    ) -> list[RunView]:
        chosen = self.registry.resolve(definition)
        require_trigger(actor, chosen.id, chosen.roles)
        if actor is not None:
            created_by = actor.owner
        now = self.database.clock()
        hookless = is_hookless(chosen)
        rows: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        for index, raw in enumerate(inputs):
            try:
                self.checks.check_size(raw)
            except InvalidInput as exc:
                refused.extend(indexed(exc, index))
                continue
            if index == 0:  # the batch's options, in trigger()'s order: after the size
                check_options(None, delay, run_at, priority, None)
            try:
                storable_input = storable_fields(chosen.id, input=raw)["input"]
                data = await self.checks.prepare(chosen, storable_input, hookless)
            except InvalidInput as exc:
                refused.extend(indexed(exc, index))
                continue
            if refused:
                continue  # nothing will be written: only the checks go on
            if not rows:
                due = due_after(now, run_at if run_at is not None else delay)
                rows.append(
                    new_run_row(
                        definition_id=chosen.id,
                        input=data,
                        now=now,
                        run_at=due,
                        priority=priority,
                        created_by=created_by,
                        concurrency_key=concurrency_key_of(chosen, data),
                    )
                )
                continue
            rows.append(another_run_row(rows[0], data, concurrency_key_of(chosen, data)))
        if refused:
            raise InvalidInput(many_refused(refused), errors=refused)
        if not rows:
            return []
        with tracing.trigger_span(chosen.id, len(rows)) as traceparent:
            if traceparent is not None:
                for row in rows:
                    row["traceparent"] = traceparent
            await self.database.run_write(InsertRuns(rows))  # announced by its commit
        return self.presenter.sibling_views(rows)


def indexed(refusal: InvalidInput, index: int) -> list[dict[str, Any]]:
    """The refusal's errors, each with the `index` of the refused input."""
    errors = refusal.errors or [{"loc": ["input"], "message": refusal.message}]
    return [{**error, "index": index} for error in errors]


def many_refused(errors: list[dict[str, Any]]) -> str:
    """The summary of a refused batch: how many inputs, and the first error."""
    refused = len({error["index"] for error in errors})
    first = f"input {errors[0]['index']}: {errors[0].get('message', 'invalid')}"
    if refused == 1:
        return first
    return f"{refused} inputs refused, nothing was triggered; {first}"

"""TaskService: the single entry point for backend code and for GraphQL."""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from definitions.definition import TaskDefinition
from definitions.errors import InvalidInput, NotFound, WaitTimeout
from definitions.records import TERMINAL_STATUSES, RunError, TaskStatus
from definitions.registry import Registry
from server.auth.identity import Actor, may_see, owner_scope, require_trigger
from server.control_service import RunControl
from server.engine import hooks
from server.events import Event, EventHub
from server.store import queries
from server.store.control import Abort
from server.store.database import Database
from server.store.paging import LogFilter, PageSlice, RunFilter, encode_cursor, page_size
from server.store.rows import another_run_row, concurrency_key_of, due_after, new_run_row
from server.store.run_control import InsertIdempotent
from server.store.writes import InsertLogs, InsertRuns
from server.views import LogView, Page, ResultView, RunView

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

T = TypeVar("T")
ORDERS = ("CREATED_AT_DESC", "CREATED_AT_ASC", "PRIORITY_DESC", "FINISHED_AT_DESC")


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", errors=[{"loc": [field], "message": message}])


class TaskService(RunControl):
    """Acts as the system (may do everything) unless an `actor` is passed to a
    method or bound with `acting_as`: then a `user` sees and acts only on its
    own runs (others' are NotFound), definitions' `roles` restrict triggering,
    and runs record the actor's owner as `created_by`."""

    max_input_bytes: int = 1024 * 1024
    actor: Actor | None = None

    def __init__(self, database: Database, registry: Registry, hub: EventHub) -> None:
        self.database = database
        self.registry = registry
        self.hub = hub

    def acting_as(self, actor: Actor | None) -> TaskService:
        """This service, acting as `actor` in every call (None: the system)."""
        bound = copy.copy(self)
        bound.actor = actor
        return bound

    def _who(self, actor: Actor | None) -> Actor | None:
        return actor if actor is not None else self.actor

    # --- definitions --------------------------------------------------------

    def definitions(self) -> list[type[TaskDefinition[Any]]]:
        return list(self.registry)

    def definition(self, ref: Any) -> type[TaskDefinition[Any]]:
        return self.registry.resolve(ref)

    async def prepare_input(self, ref: Any, raw: Any) -> dict[str, Any]:
        """Validates input and applies the definition's own checks and its
        `on_before_trigger`; returns the input as it will be stored."""
        definition = self.registry.resolve(ref)
        return await self._prepare_input(definition, raw, _hookless(definition))

    async def _prepare_input(
        self, definition: type[TaskDefinition[Any]], raw: Any, hookless: bool
    ) -> dict[str, Any]:
        """`prepare_input` of a resolved definition; `hookless`: it has no
        input checks or `on_before_trigger` of its own (`_hookless`), so no
        input (None) needs no validation when the model is empty."""
        if raw is None and hookless:
            empty = definition.empty_input()
            if empty is not None:
                return empty
        model = definition.parse_input(raw)
        instance = definition()
        try:
            instance.validate_input(model)
            if hooks.overrides(instance, "on_before_trigger"):
                changed = await hooks.call(instance.on_before_trigger, model)
                if changed is not None:
                    model = definition.parse_input(changed)
        except ValueError as exc:
            raise InvalidInput(str(exc), errors=[{"loc": ["input"], "message": str(exc)}]) from None
        return model.model_dump(mode="json")

    # --- triggering ---------------------------------------------------------

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
        data = await self._prepare_input(definition, raw, _hookless(definition))
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

    def _check_size(self, raw: Any) -> None:
        if raw is not None and not isinstance(raw, str | int | float | bool):
            try:
                size = len(json.dumps(raw, default=str).encode())
            except (TypeError, ValueError):
                size = 0
            if size > self.max_input_bytes:
                raise _bad("input", f"must be at most {self.max_input_bytes} bytes of JSON")

    @staticmethod
    def _check_options(
        name: str | None,
        delay: float | None,
        run_at: datetime | None,
        priority: int,
        idempotency_key: str | None,
    ) -> None:
        if delay is not None and delay < 0:
            raise _bad("delay", "must not be negative")
        if delay is not None and run_at is not None:
            raise _bad("runAt", "give either a delay or a time, not both")
        if name is not None and len(name) > 500:
            raise _bad("name", "must be at most 500 characters")
        if not -1_000_000 <= priority <= 1_000_000:
            raise _bad("priority", "must be between -1000000 and 1000000")
        if idempotency_key is not None and not 0 < len(idempotency_key) <= 200:
            raise _bad("idempotencyKey", "must be 1 to 200 characters")

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
        # What is the same for every run is checked and built once, in the
        # order `_row` checks it: the first input's size comes first.
        hookless = _hookless(chosen)
        keyed = getattr(chosen, "concurrency_per_key", None) is not None
        template: dict[str, Any] | None = None
        rows: list[dict[str, Any]] = []
        for raw in inputs:
            self._check_size(raw)
            if template is None:
                self._check_options(None, delay, run_at, priority, None)
            data = await self._prepare_input(chosen, raw, hookless)
            key = concurrency_key_of(chosen, data) if keyed else None
            if template is None:
                template = new_run_row(
                    definition_id=chosen.id,
                    input=data,
                    now=now,
                    run_at=due_after(now, run_at if run_at is not None else delay),
                    priority=priority,
                    created_by=created_by,
                    concurrency_key=key,
                )
                rows.append(template)
            else:
                rows.append(another_run_row(template, data, key))
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

    # --- control ------------------------------------------------------------

    async def abort(
        self, run_id: str, message: str | None = None, *, actor: Actor | None = None
    ) -> RunView:
        """A waiting run is ABORTED at once; a running one when its
        iteration ends. Aborting a finished run is a Conflict."""
        await self.get(run_id, actor=actor)
        action, row = await self.database.run_write(
            Abort(run_id, message, self.database.clock()), inline=True
        )
        if action == "requested":
            self.hub.notify_request(run_id, "ABORT")
        else:
            await self._after_abort(row)
        data = {"definition_id": row["definition_id"], "finished": action != "requested"}
        self.hub.publish(Event("run", run_id, row["status"], data))
        return await self.get(run_id)

    async def _after_abort(self, row: Any) -> None:
        if row["definition_id"] not in self.registry:
            return
        instance = self.registry.get(row["definition_id"])()
        if not hooks.overrides(instance, "on_abort"):
            return
        info = hooks.run_info(
            row,
            attempt=row["attempt"],
            status=TaskStatus.ABORTED,
            state=row["state"],
            error=RunError(row["error_message"] or "", "ABORTED"),
        )
        try:
            await hooks.call(instance.on_abort, info)
        except Exception as exc:
            message, data = hooks.describe(exc)
            await self.database.run_write(
                InsertLogs(
                    [
                        {
                            "run_id": row["id"],
                            "level": "ERROR",
                            "message": f"hook on_abort failed: {message}",
                            "data": data,
                            "iteration": row["iterations"],
                            "created_at": self.database.clock(),
                        }
                    ]
                )
            )

    # --- reading ------------------------------------------------------------

    async def find(self, run_id: str, *, actor: Actor | None = None) -> RunView | None:
        """The run, or None when unknown or not visible to the actor."""
        row = await self.database.read(lambda c: queries.get_run(c, run_id))
        if row is None or not may_see(self._who(actor), row["created_by"]):
            return None
        return self._view(row)

    async def get(self, run_id: str, *, actor: Actor | None = None) -> RunView:
        run = await self.find(run_id, actor=actor)
        if run is None:
            raise NotFound(f"no task run with id {run_id!r}")
        return run

    async def get_many(
        self, run_ids: Sequence[str], *, actor: Actor | None = None
    ) -> list[RunView | None]:
        who = self._who(actor)
        rows = await self.database.read(lambda c: queries.get_runs(c, run_ids))
        return [
            self._view(rows[i]) if i in rows and may_see(who, rows[i]["created_by"]) else None
            for i in run_ids
        ]

    def _scoped(self, where: RunFilter | None, actor: Actor | None) -> RunFilter:
        """`where`, narrowed to the actor's own runs when it sees only those."""
        owner = owner_scope(self._who(actor))
        where = where or RunFilter()
        return where if owner is None else dataclasses.replace(where, created_by=owner)

    async def _scoped_logs(self, where: LogFilter, actor: Actor | None) -> LogFilter:
        who = self._who(actor)
        if where.run_id is not None:
            await self.get(where.run_id, actor=who)
            return where
        owner = owner_scope(who)
        return where if owner is None else dataclasses.replace(where, created_by=owner)

    async def list_runs(
        self,
        where: RunFilter | None = None,
        *,
        first: int | None = None,
        after: str | None = None,
        order: str = "CREATED_AT_DESC",
        actor: Actor | None = None,
    ) -> Page[RunView]:
        if order not in ORDERS:
            raise _bad("orderBy", f"must be one of {', '.join(ORDERS)}")
        size, where = page_size(first), self._scoped(where, actor)
        found = await self.database.read(lambda c: queries.list_runs(c, where, size, after, order))
        return Page(
            items=[self._view(r) for r in found.rows],
            cursors=[queries.run_cursor(r, order) for r in found.rows],
            has_next=found.has_next,
        )

    async def count_runs(
        self, where: RunFilter | None = None, *, actor: Actor | None = None
    ) -> int:
        scoped = self._scoped(where, actor)
        return await self.database.read(lambda c: queries.count_runs(c, scoped))

    async def logs(
        self,
        run_id: str | None = None,
        *,
        where: LogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        actor: Actor | None = None,
    ) -> Page[LogView]:
        where = where or LogFilter()
        if run_id is not None:
            where = dataclasses.replace(where, run_id=run_id)
        where = await self._scoped_logs(where, actor)
        size = page_size(first)
        found = await self.database.read(lambda c: queries.list_logs(c, where, size, after))
        return Page(
            items=[LogView.from_row(r) for r in found.rows],
            cursors=[encode_cursor([r["id"]]) for r in found.rows],
            has_next=found.has_next,
        )

    async def count_logs(self, where: LogFilter, *, actor: Actor | None = None) -> int:
        scoped = await self._scoped_logs(where, actor)
        return await self.database.read(lambda c: queries.count_logs(c, scoped))

    async def history(
        self, run_id: str, *, first: int = 10, skip: int = 0, actor: Actor | None = None
    ) -> list[ResultView]:
        await self.get(run_id, actor=actor)
        rows = await self.database.read(
            lambda c: queries.history(c, run_id, page_size(first), max(0, skip))
        )
        return [ResultView.from_row(r) for r in rows]

    async def wait(
        self,
        run_id: str,
        statuses: Iterable[TaskStatus] = TERMINAL_STATUSES,
        timeout: float | None = None,
        *,
        actor: Actor | None = None,
    ) -> RunView:
        """The run once it reaches one of `statuses`. Wakes on engine events,
        and re-reads once a second for changes made by other processes."""
        wanted = frozenset(statuses)
        deadline = None if timeout is None else time.monotonic() + timeout
        subscription = self.hub.subscribe("run", run_id)
        try:
            while True:
                run = await self.get(run_id, actor=actor)
                if run.status in wanted:
                    return run
                remaining = 1.0 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(
                        f"run {run_id} is still {run.status.value} after {timeout:g} s"
                    )
                await subscription.get(min(remaining, 1.0))
        finally:
            subscription.close()

    # --- batches for DataLoaders, filters and live streams (GraphQL) ---------

    @staticmethod
    def run_filter(**fields: Any) -> RunFilter:
        return RunFilter(**fields)

    @staticmethod
    def log_filter(**fields: Any) -> LogFilter:
        return LogFilter(**fields)

    async def children_pages(
        self, parent_ids: Sequence[str], first: int | None = None
    ) -> list[Page[RunView]]:
        """The first page of children of each parent (oldest first), in one
        query; later pages: `list_runs(parent_id=..., order="CREATED_AT_ASC")`."""
        size = page_size(first)
        found = await self.database.read(lambda c: queries.children_for_runs(c, parent_ids, size))
        more = {p: len(found[p]) > size for p in parent_ids}
        if owner_scope(self.actor) is not None:  # a user: leave out children others triggered
            found = {
                p: [r for r in rows if may_see(self.actor, r["created_by"])]
                for p, rows in found.items()
            }
        return [_first_page(PageSlice(found[p][:size], more[p]), self._view) for p in parent_ids]

    async def logs_pages(
        self, run_ids: Sequence[str], first: int | None = None, levels: Sequence[str] = ()
    ) -> list[Page[LogView]]:
        """The first page of logs of each run, in one query."""
        size, chosen = page_size(first), tuple(levels) or None
        found = await self.database.read(lambda c: queries.logs_for_runs(c, run_ids, size, chosen))
        return [
            _first_page(PageSlice(found[r][:size], len(found[r]) > size), LogView.from_row)
            for r in run_ids
        ]

    async def count_children(self, parent_ids: Sequence[str]) -> list[int]:
        counts = await self.database.read(lambda c: queries.count_children_for_runs(c, parent_ids))
        return [counts[p] for p in parent_ids]

    async def count_logs_of(self, run_ids: Sequence[str], levels: Sequence[str] = ()) -> list[int]:
        chosen = tuple(levels) or None
        counts = await self.database.read(lambda c: queries.count_logs_for_runs(c, run_ids, chosen))
        return [counts[r] for r in run_ids]

    async def last_log_cursor(self, run_id: str) -> str | None:
        """The cursor after the run's newest log line (None: no logs yet)."""
        last = await self.database.read(lambda c: queries.last_log_id(c, run_id))
        return None if last is None else encode_cursor([last])

    def watch(self, run_id: str) -> AsyncGenerator[RunView, None]:
        """The run now and after each change, until it ends (server/live.py)."""
        from server.live import watch_run

        return watch_run(self, run_id)

    def follow_logs(self, run_id: str) -> AsyncGenerator[LogView, None]:
        """Each new log line of the run, until it ends (server/live.py)."""
        from server.live import follow_logs

        return follow_logs(self, run_id)


def _hookless(definition: type[TaskDefinition[Any]]) -> bool:
    """True when preparing an input runs no code of the definition's own: it
    overrides neither `validate_input` nor `on_before_trigger`, nor how an
    instance is made."""
    return (
        definition.validate_input is TaskDefinition.validate_input
        and definition.on_before_trigger is TaskDefinition.on_before_trigger
        and definition.__init__ is TaskDefinition.__init__
        and definition.__new__ is TaskDefinition.__new__
    )


def _first_page(found: PageSlice, view: Callable[[Any], T]) -> Page[T]:
    return Page(
        items=[view(r) for r in found.rows],
        cursors=[encode_cursor([r["id"]]) for r in found.rows],
        has_next=found.has_next,
    )

"""Reading runs for the service: one run, pages and counts of runs and of
log lines, a run's results, and waiting for a run to reach a status.

`actor` is the caller already resolved by `TaskService` (None: the
system). An actor that sees only its own runs gets only those: another's
run is `NotFound`, and lists and counts are narrowed to the actor's runs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from taskloom.definitions.errors import NotFound, WaitTimeout
from taskloom.definitions.filters import ALL, MAX_PAGE, LogFilter, RunFilter, page_size
from taskloom.definitions.records import TaskStatus
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import LogView, Page, ResultView
from taskloom.server.auth.identity import Actor, may_see, owner_scope
from taskloom.server.service.input_checks import invalid_field
from taskloom.server.service.log_views import sees_whole_tracebacks, shown
from taskloom.server.service.presenter import RunPresenter
from taskloom.server.store import history, queries
from taskloom.server.store.paging import encode_cursor

if TYPE_CHECKING:
    from taskloom.definitions.registry import Registry
    from taskloom.server.events.hub import EventHub
    from taskloom.server.store.database import Database

ORDERS = ("CREATED_AT_DESC", "CREATED_AT_ASC", "PRIORITY_DESC", "FINISHED_AT_DESC")


class RunReader:
    def __init__(
        self, database: Database, registry: Registry, hub: EventHub, presenter: RunPresenter
    ) -> None:
        self.database = database
        self.registry = registry
        self.hub = hub
        self.presenter = presenter

    async def find(self, run_id: str, actor: Actor | None) -> RunView | None:
        """The run, or None when unknown or not visible to the actor."""
        row = await self.database.read(lambda c: queries.get_run(c, run_id))
        if row is None or not may_see(actor, row["created_by"]):
            return None
        return self.presenter.view(row)

    async def get(self, run_id: str, actor: Actor | None) -> RunView:
        run = await self.find(run_id, actor)
        if run is None:
            raise NotFound(f"no task run with id {run_id!r}")
        return run

    async def get_many(self, run_ids: Sequence[str], actor: Actor | None) -> list[RunView | None]:
        rows = await self.database.read(lambda c: queries.get_runs(c, run_ids))
        view = self.presenter.view
        return [
            view(rows[i], deferred=True)
            if i in rows and may_see(actor, rows[i]["created_by"])
            else None
            for i in run_ids
        ]

    def scoped(self, where: RunFilter | None, actor: Actor | None) -> RunFilter:
        """`where`, narrowed to the actor's own runs when it sees only those
        (asking for another owner's runs then matches none: no status)."""
        owner = owner_scope(actor)
        where = where or RunFilter()
        if owner is None:
            return where
        if where.created_by not in (None, owner):
            return dataclasses.replace(where, created_by=owner, statuses=())
        return dataclasses.replace(where, created_by=owner)

    async def _scoped_logs(self, where: LogFilter, actor: Actor | None) -> LogFilter:
        if where.run_id is not None:
            await self.get(where.run_id, actor)
            return where
        owner = owner_scope(actor)
        return where if owner is None else dataclasses.replace(where, created_by=owner)

    async def list_runs(
        self,
        where: RunFilter | None,
        first: int | None,
        after: str | None,
        order: str,
        actor: Actor | None,
    ) -> Page[RunView]:
        if order not in ORDERS:
            raise invalid_field("orderBy", f"must be one of {', '.join(ORDERS)}")
        size, where = page_size(first), self.scoped(where, actor)
        found = await self.database.read(lambda c: queries.list_runs(c, where, size, after, order))
        return Page(
            items=[self.presenter.view(r, deferred=True) for r in found.rows],
            cursors=[queries.run_cursor(r, order) for r in found.rows],
            has_next=found.has_next,
        )

    async def count_runs(self, where: RunFilter | None, actor: Actor | None) -> int:
        scoped = self.scoped(where, actor)
        return await self.database.read(lambda c: queries.count_runs(c, scoped))

    async def logs(
        self,
        run_id: str | None,
        where: LogFilter | None,
        first: int | None,
        after: str | None,
        actor: Actor | None,
    ) -> Page[LogView]:
        where = where or LogFilter()
        if run_id is not None:
            where = dataclasses.replace(where, run_id=run_id)
        where = await self._scoped_logs(where, actor)
        size = page_size(first)
        found = await self.database.read(lambda c: queries.list_logs(c, where, size, after))
        whole = sees_whole_tracebacks(actor)
        return Page(
            items=[shown(LogView.from_row(r), whole) for r in found.rows],
            cursors=[encode_cursor([r["id"]]) for r in found.rows],
            has_next=found.has_next,
        )

    async def count_logs(self, where: LogFilter, actor: Actor | None) -> int:
        scoped = await self._scoped_logs(where, actor)
        return await self.database.read(lambda c: queries.count_logs(c, scoped))

    async def last_log_cursor(self, run_id: str) -> str | None:
        """The cursor after the run's newest log line (None: no logs yet)."""
        last = await self.database.read(lambda c: queries.last_log_id(c, run_id))
        return None if last is None else encode_cursor([last])

    async def history(
        self, run_id: str, first: int, skip: int, actor: Actor | None
    ) -> list[ResultView]:
        run = await self.get(run_id, actor)
        definition = self.registry.find(run.definition_id)
        kept = definition is None or definition.max_results != -1
        start = max(0, skip)
        if first == ALL:
            rows = await self.database.read(
                lambda c: history.every_record(c, run_id, start, MAX_PAGE, kept=kept)
            )
        else:
            size = page_size(first)
            rows = await self.database.read(
                lambda c: history.history(c, run_id, size, start, kept=kept)
            )
        return [ResultView.from_row(r) for r in rows]

    async def wait(
        self,
        run_id: str,
        statuses: Iterable[TaskStatus],
        timeout: float | None,
        actor: Actor | None,
    ) -> RunView:
        """The run once it reaches one of `statuses`. Wakes on engine events,
        and re-reads once a second for changes made by other processes."""
        wanted = frozenset(statuses)
        deadline = None if timeout is None else time.monotonic() + timeout
        subscription = self.hub.subscribe("run", run_id)
        try:
            while True:
                run = await self.get(run_id, actor)
                if run.status in wanted:
                    return run
                remaining = 1.0 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    waits = f", {run.waiting}" if run.waiting else ""
                    raise WaitTimeout(
                        f"run {run_id} is still {run.status.value}{waits} after {timeout:g} s"
                    )
                await subscription.get(min(remaining, 1.0))
        finally:
            subscription.close()

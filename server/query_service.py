"""The reading part of `TaskService`: one run, pages and counts of runs and
of log lines, a run's results, and waiting for a run to reach a status.

`TaskService` inherits these methods; they share its database and event
hub. An actor that sees only its own runs gets only those: another's run is
`NotFound`, and lists and counts are narrowed to the actor's runs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from taskloom.definitions.errors import NotFound, WaitTimeout
from taskloom.definitions.records import TERMINAL_STATUSES, TaskStatus
from taskloom.server.auth.identity import Actor, may_see, owner_scope
from taskloom.server.filters import LogFilter, RunFilter, page_size
from taskloom.server.input_checks import invalid_field
from taskloom.server.store import history, queries
from taskloom.server.store.paging import encode_cursor
from taskloom.server.views import LogView, Page, ResultView, RunView

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskloom.definitions.registry import Registry
    from taskloom.server.events import EventHub
    from taskloom.server.store.database import Database

ORDERS = ("CREATED_AT_DESC", "CREATED_AT_ASC", "PRIORITY_DESC", "FINISHED_AT_DESC")


class RunQueries:
    database: Database
    hub: EventHub
    registry: Registry

    if TYPE_CHECKING:  # provided by TaskService and the other halves it inherits

        def _who(self, actor: Actor | None) -> Actor | None: ...

        def _view(self, row: RowMapping | dict[str, Any], *, deferred: bool = False) -> RunView: ...

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
            self._view(rows[i], deferred=True)
            if i in rows and may_see(who, rows[i]["created_by"])
            else None
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
            raise invalid_field("orderBy", f"must be one of {', '.join(ORDERS)}")
        size, where = page_size(first), self._scoped(where, actor)
        found = await self.database.read(lambda c: queries.list_runs(c, where, size, after, order))
        return Page(
            items=[self._view(r, deferred=True) for r in found.rows],
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
        run = await self.get(run_id, actor=actor)
        definition = self.registry.find(run.definition_id)
        kept = definition is None or definition.max_results != -1
        size = page_size(first)
        rows = await self.database.read(
            lambda c: history.history(c, run_id, size, max(0, skip), kept=kept)
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

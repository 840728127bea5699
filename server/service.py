"""TaskService: the single entry point for backend code and for GraphQL.

Its parts live in their own modules and are inherited: input checks
(`server/input_checks.py`), triggering (`server/trigger_service.py`),
reading (`server/query_service.py`) and run control
(`server/control_service.py`). Here: the acting identity, definitions,
abort, and the batched reads GraphQL's DataLoaders and streams use."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from taskloom.definitions.definition import TaskDefinition
from taskloom.definitions.records import RunError, TaskStatus
from taskloom.definitions.registry import Registry
from taskloom.server.auth.identity import Actor, may_see, owner_scope
from taskloom.server.control_service import RunControl
from taskloom.server.engine import hooks
from taskloom.server.events import Event, EventHub
from taskloom.server.filters import LogFilter, RunFilter, page_size
from taskloom.server.query_service import RunQueries
from taskloom.server.store import queries
from taskloom.server.store.control import Abort
from taskloom.server.store.database import Database
from taskloom.server.store.paging import PageSlice, encode_cursor
from taskloom.server.store.writes import InsertLogs
from taskloom.server.trigger_service import Triggering
from taskloom.server.views import LogView, Page, RunView

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator

T = TypeVar("T")


class TaskService(Triggering, RunQueries, RunControl):
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
        definition = self.registry.find(row["definition_id"])
        if definition is None:
            return
        instance = definition()
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
        from taskloom.server.live import watch_run

        return watch_run(self, run_id)

    def follow_logs(self, run_id: str) -> AsyncGenerator[LogView, None]:
        """Each new log line of the run, until it ends (server/live.py)."""
        from taskloom.server.live import follow_logs

        return follow_logs(self, run_id)


def _first_page(found: PageSlice, view: Callable[[Any], T]) -> Page[T]:
    return Page(
        items=[view(r) for r in found.rows],
        cursors=[encode_cursor([r["id"]]) for r in found.rows],
        has_next=found.has_next,
    )

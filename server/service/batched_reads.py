"""The batched reads GraphQL's DataLoaders use: the first page and the
count of children, dependents or log lines of many runs, and their
dependencies, each in one query."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from taskloom.definitions.filters import page_size
from taskloom.definitions.run_view import RunView
from taskloom.definitions.views import LogView, Page
from taskloom.server.auth.identity import Actor, owner_scope
from taskloom.server.service.log_views import sees_whole_tracebacks, shown
from taskloom.server.service.presenter import RunPresenter
from taskloom.server.store import queries, run_dependencies
from taskloom.server.store.paging import PageSlice, encode_cursor

if TYPE_CHECKING:
    from taskloom.server.store.database import Database

T = TypeVar("T")


class BatchedReads:
    def __init__(self, database: Database, presenter: RunPresenter) -> None:
        self.database = database
        self.presenter = presenter

    async def children_pages(
        self, parent_ids: Sequence[str], first: int | None, actor: Actor | None
    ) -> list[Page[RunView]]:
        size, owner = page_size(first), owner_scope(actor)  # a user: its own children only
        found = await self.database.read(
            lambda c: queries.children_for_runs(c, parent_ids, size, owner)
        )
        view = self.presenter.view
        return [
            first_page(PageSlice(found[p][:size], len(found[p]) > size), view) for p in parent_ids
        ]

    async def dependencies_lists(
        self, run_ids: Sequence[str], actor: Actor | None
    ) -> list[list[RunView]]:
        owner = owner_scope(actor)  # a user: its own runs only
        found = await self.database.read(
            lambda c: run_dependencies.dependencies_for_runs(c, run_ids, owner)
        )
        return [[self.presenter.view(row) for row in found[r]] for r in run_ids]

    async def dependents_pages(
        self, run_ids: Sequence[str], first: int | None, actor: Actor | None
    ) -> list[Page[RunView]]:
        size, owner = page_size(first), owner_scope(actor)
        found = await self.database.read(
            lambda c: run_dependencies.dependents_for_runs(c, run_ids, size, owner)
        )
        view = self.presenter.view
        return [first_page(PageSlice(found[r][:size], len(found[r]) > size), view) for r in run_ids]

    async def count_dependents(self, run_ids: Sequence[str], actor: Actor | None) -> list[int]:
        owner = owner_scope(actor)
        counts = await self.database.read(
            lambda c: run_dependencies.count_dependents_for_runs(c, run_ids, owner)
        )
        return [counts[r] for r in run_ids]

    async def logs_pages(
        self, run_ids: Sequence[str], first: int | None, levels: Sequence[str], actor: Actor | None
    ) -> list[Page[LogView]]:
        size, chosen = page_size(first), tuple(levels) or None
        found = await self.database.read(lambda c: queries.logs_for_runs(c, run_ids, size, chosen))
        whole = sees_whole_tracebacks(actor)

        def view(row: Any) -> LogView:
            return shown(LogView.from_row(row), whole)

        return [first_page(PageSlice(found[r][:size], len(found[r]) > size), view) for r in run_ids]

    async def count_children(self, parent_ids: Sequence[str], actor: Actor | None) -> list[int]:
        owner = owner_scope(actor)  # a user counts only the children it may see
        counts = await self.database.read(
            lambda c: queries.count_children_for_runs(c, parent_ids, owner)
        )
        return [counts[p] for p in parent_ids]

    async def count_logs_of(self, run_ids: Sequence[str], levels: Sequence[str]) -> list[int]:
        chosen = tuple(levels) or None
        counts = await self.database.read(lambda c: queries.count_logs_for_runs(c, run_ids, chosen))
        return [counts[r] for r in run_ids]


def first_page(found: PageSlice, view: Callable[[Any], T]) -> Page[T]:
    return Page(
        items=[view(r) for r in found.rows],
        cursors=[encode_cursor([r["id"]]) for r in found.rows],
        has_next=found.has_next,
    )

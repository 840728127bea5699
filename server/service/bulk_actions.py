"""Aborting or retrying the runs that match a filter, at most `limit` of
them, each through the same action as one run (`run_actions.py`), within
what the actor may see.

A run that changed between the listing and its action (it ended, or
another caller got there first) is skipped, not counted and not an error:
the answer says what this call did. Runs are taken oldest first, so
repeating a call while `has_more` works through a backlog."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from taskloom.definitions.errors import Conflict, InvalidInput, NotFound
from taskloom.definitions.filters import MAX_PAGE, RunFilter
from taskloom.definitions.records import TaskStatus
from taskloom.definitions.run_view import RunView
from taskloom.definitions.text_limits import MESSAGE_CHARS
from taskloom.definitions.views import BulkResult
from taskloom.server.auth.identity import Actor
from taskloom.server.service.input_checks import check_length
from taskloom.server.service.reader import RunReader
from taskloom.server.service.run_actions import RunActions

MAX_BULK = 10_000
ABORTABLE = (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.PAUSED)
RETRYABLE = (TaskStatus.FAILED, TaskStatus.ABORTED)


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_BULK:
        raise InvalidInput(
            f"limit: must be between 1 and {MAX_BULK}",
            errors=[{"loc": ["limit"], "message": f"must be between 1 and {MAX_BULK}"}],
        )


def narrowed(where: RunFilter | None, statuses: tuple[TaskStatus, ...]) -> RunFilter | None:
    """`where` limited to `statuses`; None when it asks for none of them."""
    where = where or RunFilter()
    wanted = (
        statuses if where.statuses is None else tuple(s for s in statuses if s in where.statuses)
    )
    return dataclasses.replace(where, statuses=wanted) if wanted else None


class BulkActions:
    def __init__(self, reader: RunReader, actions: RunActions) -> None:
        self.reader = reader
        self.actions = actions

    async def abort_many(
        self,
        where: RunFilter | None,
        limit: int,
        message: str | None,
        cascade: bool,
        actor: Actor | None,
    ) -> BulkResult:
        check_length("message", message, MESSAGE_CHARS)  # before any run is aborted

        async def abort(run: RunView) -> RunView:
            return await self.actions.abort(run.id, message, cascade, actor)

        return await self._each(narrowed(where, ABORTABLE), limit, actor, _abortable, abort)

    async def retry_many(
        self, where: RunFilter | None, limit: int, actor: Actor | None
    ) -> BulkResult:
        async def retry(run: RunView) -> RunView:
            return await self.actions.retry(run.id, actor)

        return await self._each(narrowed(where, RETRYABLE), limit, actor, _retryable, retry)

    async def _each(
        self,
        where: RunFilter | None,
        limit: int,
        actor: Actor | None,
        applies: Callable[[RunView], bool],
        act: Callable[[RunView], Awaitable[RunView]],
    ) -> BulkResult:
        check_limit(limit)
        done: list[RunView] = []
        after: str | None = None
        while where is not None:
            size = min(MAX_PAGE, limit - len(done))
            page = await self.reader.list_runs(where, size, after, "CREATED_AT_ASC", actor)
            for index, run in enumerate(page.items):
                if not applies(run):
                    continue
                try:
                    done.append(await act(run))
                except (Conflict, NotFound):
                    continue  # it changed since the listing
                if len(done) == limit:
                    more = index + 1 < len(page.items) or page.has_next
                    return BulkResult(done, has_more=more)
            if not page.has_next:
                break
            after = page.end_cursor
        return BulkResult(done, has_more=False)


def _abortable(run: RunView) -> bool:
    return run.can_abort


def _retryable(run: RunView) -> bool:
    return run.can_retry

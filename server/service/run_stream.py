"""The stream of every run's changes the caller may see (GraphQL's
`taskRunEvents`): each status, progress or request change of the runs that
meet a filter.

The hub's run events (every process's, over LISTEN/NOTIFY on PostgreSQL)
say which runs changed; the stream re-reads them, with whether each still
meets the filter, in one query. A run that leaves the filter is sent once
more, so a client showing it learns that it left. Between events it
re-reads what was written since its last look (`runs_changed_since`): that
catches the commits of another process on a SQLite file, which announce
nothing here, and notifications PostgreSQL lost. Runs whose last sent state
is unchanged are not sent again."""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

from taskloom.definitions.filters import RunFilter
from taskloom.definitions.run_view import RunView
from taskloom.server.auth.identity import may_see
from taskloom.server.events.hub import Subscription
from taskloom.server.service.live import fingerprint
from taskloom.server.service.reader import RunReader
from taskloom.server.store import run_changes

if TYPE_CHECKING:
    from sqlalchemy.engine import RowMapping

    from taskloom.server.auth.identity import Actor

POLL_SECONDS = 1.0
# A write's updated_at is taken before its commit: look this far back, so a
# commit that took its time is not missed (what was sent is not sent twice).
LOOK_BACK_SECONDS = 2.0
BATCH = 500  # runs re-read at once
REMEMBERED = 10_000  # runs whose last sent state is kept, newest first


async def run_events(
    reader: RunReader, where: RunFilter | None, actor: Actor | None, poll: float = POLL_SECONDS
) -> AsyncGenerator[RunView, None]:
    """Yields each run visible to `actor` that meets `where` after every
    change, and once more when a change takes it out of `where`. Endless."""
    scoped = reader.scoped(where, actor)
    subscription = reader.hub.subscribe("run", "*")
    sent: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
    look_from = (time.time(), "")
    next_look = time.monotonic() + poll
    try:
        while True:
            wait = next_look - time.monotonic()
            changed = await _changed_ids(subscription, wait) if wait > 0 else ()
            if changed:
                rows = await reader.database.read(
                    functools.partial(run_changes.runs_by_id, run_ids=changed, where=scoped)
                )
            else:
                started, next_look = time.time(), time.monotonic() + poll
                rows = await reader.database.read(
                    functools.partial(
                        run_changes.runs_changed_since, after=look_from, where=scoped, limit=BATCH
                    )
                )
                full = len(rows) == BATCH  # more to read: from where this batch ended
                back = (started - LOOK_BACK_SECONDS, "")
                look_from = (rows[-1]["updated_at"], rows[-1]["id"]) if full else back
            for row in sorted(rows, key=lambda r: r["updated_at"]):
                view = _news(reader, row, actor, sent)
                if view is not None:
                    yield view
    finally:
        subscription.close()


def _news(
    reader: RunReader,
    row: RowMapping,
    actor: Actor | None,
    sent: OrderedDict[str, tuple[Any, ...]],
) -> RunView | None:
    """The run's view when the subscriber should hear of it, remembering
    what it was told."""
    run_id = row["id"]
    if not may_see(actor, row["created_by"]):
        return None
    if not row["matches"]:
        return reader.presenter.view(row) if sent.pop(run_id, None) is not None else None
    view = reader.presenter.view(row)
    seen = fingerprint(view)
    if sent.get(run_id) == seen:
        return None
    sent[run_id] = seen
    sent.move_to_end(run_id)
    if len(sent) > REMEMBERED:
        sent.popitem(last=False)
    return view


async def _changed_ids(subscription: Subscription, timeout: float) -> Sequence[str]:
    """The runs named by the events waiting, or by the first to arrive
    within `timeout` (none: empty), at most BATCH of them."""
    first = await subscription.get(timeout)
    if first is None:
        return ()
    changed = {first.run_id: None}
    while len(changed) < BATCH and not subscription.queue.empty():
        changed[subscription.queue.get_nowait().run_id] = None
    return list(changed)

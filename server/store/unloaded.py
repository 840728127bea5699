"""Due runs of definitions that no code in this process can run (the
definition was renamed, removed, or its module not loaded here): counted by
definition, for the worker's log line, the metrics and the runs' `waiting`
reason. Such runs wait (README, "Runs of a definition that is not
loaded")."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, func, select

from taskloom.server.store.models import runs
from taskloom.server.store.transitions import PENDING


def due_unloaded(conn: Connection, known: Collection[str], now: float) -> dict[str, int]:
    """`{definition id: due PENDING runs}` for definitions not in `known`."""
    c = runs.c
    query = (
        select(c.definition_id, func.count())
        .where(c.status == PENDING, c.run_at <= now)
        .group_by(c.definition_id)
    )
    if known:
        query = query.where(c.definition_id.not_in(list(known)))
    return {definition: int(count) for definition, count in conn.execute(query)}

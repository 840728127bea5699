"""Paused definitions: no worker claims runs of a definition listed in
`paused_definitions` (the claims' condition `NOT_PAUSED`), until it is
resumed. Runs already RUNNING finish their iteration and, if they go on,
wait PENDING. The pause is a row, so every worker sees it and it survives
restarts."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import paused_definitions, runs

# The claims' condition, in the SQLite claim's own SQL text too.
NOT_PAUSED_SQL = "definition_id NOT IN (SELECT definition_id FROM paused_definitions)"


def not_paused() -> ColumnElement[bool]:
    condition: ColumnElement[bool] = runs.c.definition_id.not_in(
        select(paused_definitions.c.definition_id)
    )
    return condition


def paused_ids(conn: Connection) -> set[str]:
    return set(conn.execute(select(paused_definitions.c.definition_id)).scalars())


class PauseDefinition(WriteOp[bool]):
    """Pauses a definition; True when it was not paused before."""

    urgent = True

    def __init__(self, definition_id: str, now: float, actor: str | None) -> None:
        self.definition_id = definition_id
        self.now = now
        self.actor = actor

    def apply(self, conn: Connection) -> bool:
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        row = {"definition_id": self.definition_id, "paused_at": self.now, "paused_by": self.actor}
        done = conn.execute(make(paused_definitions).values(**row).on_conflict_do_nothing())
        return bool(done.rowcount)


class ResumeDefinition(WriteOp[bool]):
    """Resumes a paused definition; True when it was paused."""

    urgent = True

    def __init__(self, definition_id: str) -> None:
        self.definition_id = definition_id

    def apply(self, conn: Connection) -> bool:
        table = paused_definitions
        done = conn.execute(delete(table).where(table.c.definition_id == self.definition_id))
        return bool(done.rowcount)

"""Schedules made through the API (createSchedule): their rows, and the
operations that make and delete them (a tick is fired by store/schedules.py's
FireTick, as a class schedule's is). A fired tick's run carries the
idempotency key `schedule:<schedule id>:<tick>`, so the unique index on
(definition, key) lets exactly one run exist per schedule and tick, however
many workers fire it (as store/schedules.py does for class schedules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import NotFound
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import api_schedules as table


def list_api_schedules(conn: Connection) -> list[RowMapping]:
    query = select(table).order_by(table.c.definition_id, table.c.created_at, table.c.id)
    return list(conn.execute(query).mappings())


def due_api_schedules(conn: Connection, now: float, definitions: Sequence[str]) -> list[RowMapping]:
    query = select(table).where(
        table.c.next_run_at <= now, table.c.definition_id.in_(list(definitions))
    )
    return list(conn.execute(query).mappings())


def next_api_tick(conn: Connection, definitions: Sequence[str]) -> float | None:
    query = select(func.min(table.c.next_run_at)).where(
        table.c.definition_id.in_(list(definitions))
    )
    value = conn.execute(query).scalar()
    return None if value is None else float(value)


class CreateSchedule(WriteOp[RowMapping]):
    urgent = True

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def apply(self, conn: Connection) -> RowMapping:
        conn.execute(insert(table).values(**self.row))
        found = conn.execute(select(table).where(table.c.id == self.row["id"])).mappings().first()
        assert found is not None
        return found


class DeleteSchedule(WriteOp[RowMapping]):
    """Deletes an API schedule; returns it as it was (NotFound if none)."""

    urgent = True

    def __init__(self, schedule_id: str) -> None:
        self.schedule_id = schedule_id

    def apply(self, conn: Connection) -> RowMapping:
        where = table.c.id == self.schedule_id
        found = conn.execute(select(table).where(where)).mappings().first()
        if found is None:
            raise NotFound(f"no schedule with id {self.schedule_id!r}")
        conn.execute(delete(table).where(where))
        return found

"""Schedules made through the API (createSchedule): their rows, and the
operations that make, delete and fire them. A fired tick's run carries the
idempotency key `schedule:<schedule id>:<tick>`, so the unique index on
(definition, key) lets exactly one run exist per schedule and tick, however
many workers fire it (as store/schedules.py does for class schedules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping

from taskloom.definitions.errors import NotFound
from taskloom.server.store.committed import NewRuns
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import api_schedules as table
from taskloom.server.store.new_runs import InsertIdempotent


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


class FireApiTick(WriteOp[tuple[bool, RowMapping]]):
    """Triggers the run of one tick (unless it exists) and moves the
    schedule on to its next tick; returns (created, run)."""

    def __init__(
        self, schedule_id: str, tick: float, next_run_at: float, row: dict[str, Any], now: float
    ) -> None:
        self.schedule_id = schedule_id
        self.tick = tick
        self.next_run_at = next_run_at
        self.row = row
        self.now = now

    def apply(self, conn: Connection) -> tuple[bool, RowMapping]:
        created, run = InsertIdempotent(self.row).apply(conn)
        conn.execute(
            update(table)
            .where(table.c.id == self.schedule_id)
            .values(last_run_at=self.tick, next_run_at=self.next_run_at)
        )
        return created, run

    def committed(self, result: tuple[bool, RowMapping]) -> NewRuns | None:
        created, _run = result
        return NewRuns([self.row]) if created else None


class SkipApiTick(WriteOp[None]):
    """Moves an API schedule on without a run (its tick could not be triggered)."""

    def __init__(self, schedule_id: str, next_run_at: float) -> None:
        self.schedule_id = schedule_id
        self.next_run_at = next_run_at

    def apply(self, conn: Connection) -> None:
        conn.execute(
            update(table).where(table.c.id == self.schedule_id).values(next_run_at=self.next_run_at)
        )

"""Schedules: one row per scheduled definition, and the operation that
fires a due tick. A fired tick's run carries the idempotency key
`schedule:<tick>`, so the unique index on (definition, key) lets exactly one
run exist per definition and tick, however many workers fire it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.dml import Insert, Update

from taskloom.definitions.errors import NotFound
from taskloom.server.store.committed import NewRuns
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import api_schedules, schedules
from taskloom.server.store.new_runs import InsertIdempotent


def list_schedules(conn: Connection) -> list[RowMapping]:
    query = select(schedules).order_by(schedules.c.definition_id)
    return list(conn.execute(query).mappings())


def due_schedules(conn: Connection, now: float, definitions: Sequence[str]) -> list[RowMapping]:
    query = select(schedules).where(
        schedules.c.enabled.is_(True),
        schedules.c.next_run_at <= now,
        schedules.c.definition_id.in_(list(definitions)),
    )
    return list(conn.execute(query).mappings())


class SyncSchedules(WriteOp[None]):
    """Creates the rows of newly scheduled definitions and updates those
    whose expression or time zone changed (their next tick is recomputed);
    `wanted` maps definition id -> (expression, timezone, next_run_at)."""

    def __init__(self, wanted: dict[str, tuple[str, str, float]], now: float) -> None:
        self.wanted = wanted
        self.now = now

    def apply(self, conn: Connection) -> None:
        existing = {row["definition_id"]: row for row in list_schedules(conn)}
        for definition_id, (expression, timezone, next_run_at) in self.wanted.items():
            row = existing.get(definition_id)
            if row is None:
                conn.execute(
                    _insert_new(conn).values(
                        definition_id=definition_id,
                        expression=expression,
                        timezone=timezone,
                        enabled=True,
                        next_run_at=next_run_at,
                        last_run_at=None,
                        updated_at=self.now,
                    )
                )
            elif (row["expression"], row["timezone"]) != (expression, timezone):
                conn.execute(
                    update(schedules)
                    .where(schedules.c.definition_id == definition_id)
                    .values(
                        expression=expression,
                        timezone=timezone,
                        next_run_at=next_run_at,
                        updated_at=self.now,
                    )
                )


def _insert_new(conn: Connection) -> Insert:
    """An INSERT of a schedule that leaves alone the row another process's
    start wrote meanwhile (workers starting together on PostgreSQL; on
    SQLite writes take turns)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as insert_or_skip

        return insert_or_skip(schedules).on_conflict_do_nothing(index_elements=["definition_id"])
    return insert(schedules)


@dataclass(frozen=True)
class ScheduleKey:
    """Which schedule a tick moves on: a definition's class-level schedule
    (`ident` its definition id), or one made through the API (`api`,
    `ident` its id; store/api_schedules.py)."""

    ident: str
    api: bool = False


def _move(key: ScheduleKey, now: float, **values: float) -> Update:
    if key.api:
        return update(api_schedules).where(api_schedules.c.id == key.ident).values(**values)
    return (
        update(schedules)
        .where(schedules.c.definition_id == key.ident)
        .values(**values, updated_at=now)
    )


class FireTick(WriteOp[tuple[bool, RowMapping]]):
    """Triggers the run of one tick (unless it exists) and moves the
    schedule on to its next tick; returns (created, run)."""

    def __init__(
        self, key: ScheduleKey, tick: float, next_run_at: float, row: dict[str, Any], now: float
    ) -> None:
        self.key = key
        self.tick = tick
        self.next_run_at = next_run_at
        self.row = row
        self.now = now

    def apply(self, conn: Connection) -> tuple[bool, RowMapping]:
        created, run = InsertIdempotent(self.row).apply(conn)
        conn.execute(_move(self.key, self.now, last_run_at=self.tick, next_run_at=self.next_run_at))
        return created, run

    def committed(self, result: tuple[bool, RowMapping]) -> NewRuns | None:
        created, _run = result
        return NewRuns([self.row]) if created else None


class SkipTick(WriteOp[None]):
    """Moves a schedule on without a run (its tick could not be triggered)."""

    def __init__(self, key: ScheduleKey, next_run_at: float, now: float) -> None:
        self.key = key
        self.next_run_at = next_run_at
        self.now = now

    def apply(self, conn: Connection) -> None:
        conn.execute(_move(self.key, self.now, next_run_at=self.next_run_at))


class SetScheduleEnabled(WriteOp[RowMapping]):
    """Turns a schedule on or off. Turning it on starts from the next tick
    after now: ticks missed while it was off are not caught up."""

    def __init__(self, definition_id: str, enabled: bool, next_run_at: float, now: float) -> None:
        self.definition_id = definition_id
        self.enabled = enabled
        self.next_run_at = next_run_at
        self.now = now

    def apply(self, conn: Connection) -> RowMapping:
        row = (
            conn.execute(select(schedules).where(schedules.c.definition_id == self.definition_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no schedule for definition {self.definition_id!r}")
        values: dict[str, Any] = {"enabled": self.enabled, "updated_at": self.now}
        if self.enabled and not row["enabled"]:
            values["next_run_at"] = self.next_run_at
        conn.execute(
            update(schedules)
            .where(schedules.c.definition_id == self.definition_id)
            .values(**values)
        )
        found = (
            conn.execute(select(schedules).where(schedules.c.definition_id == self.definition_id))
            .mappings()
            .first()
        )
        assert found is not None
        return found

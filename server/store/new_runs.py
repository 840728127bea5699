"""New runs: the one place their rows are made and inserted.

Triggers, bulk triggers, schedule ticks and the caller-session insert build
rows with `new_run_row` (children too, written with their parent's outcome)
and insert them with `InsertRuns` or `InsertIdempotent`, whose commit
announces them (store/committed.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from taskloom.definitions.controller import new_id
from taskloom.definitions.records import TaskStatus
from taskloom.server.store.committed import NewRuns
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.inserts import insert_rows
from taskloom.server.store.models import runs


def due_after(now: float, delay: float | datetime | None) -> float:
    """When something asked for "after `delay` seconds" or "at `delay`" is
    due. A time in the past is now: a run dated before its trigger would
    jump the claims' oldest-first turn (fair_claims.py)."""
    if isinstance(delay, datetime):
        return max(now, delay.timestamp())
    return now + max(0.0, float(delay or 0.0))


# The scheduler's keys, `schedule:<tick>`: no caller may use the namespace
# (input_checks.check_options), so no trigger can take a tick first.
TICK_KEY_PREFIX = "schedule:"


def idempotency_scope(created_by: str | None) -> str:
    """Where an idempotency key is unique (with the definition): the owner
    who triggered the run, or '' for the system, whose scope holds the
    scheduler's `schedule:<tick>` keys. One owner's key never finds or
    blocks another's run."""
    return created_by or ""


def new_run_row(
    *,
    definition_id: str,
    input: dict[str, Any],
    now: float,
    run_at: float,
    run_id: str | None = None,
    name: str | None = None,
    priority: int = 0,
    parent_id: str | None = None,
    created_by: str | None = None,
    idempotency_key: str | None = None,
    simulate: bool = False,
    concurrency_key: str | None = None,
    deadline_seconds: float | None = None,
    expires_at: float | None = None,
) -> dict[str, Any]:
    return {
        "id": run_id or new_id(),
        "definition_id": definition_id,
        "name": name,
        "status": TaskStatus.PENDING.value,
        "requested": None,
        "input": input,
        "state": {},
        "output": None,
        "error_message": None,
        "error_code": None,
        "error_data": None,
        "iterations": 0,
        "attempt": 0,
        "priority": priority,
        "progress_current": None,
        "progress_total": None,
        "progress_units": None,
        "status_message": None,
        "has_errors": False,
        "simulate": simulate,
        "created_at": now,
        "scheduled_at": run_at,
        "run_at": run_at,
        "started_at": None,
        "attempt_started_at": None,
        "finished_at": None,
        "updated_at": now,
        "worker_id": None,
        "last_worker_id": None,
        "lease_expires_at": None,
        "lease_losses": 0,
        "claims": 0,
        "parent_id": parent_id,
        "created_by": created_by,
        "idempotency_key": idempotency_key,
        "idempotency_scope": None if idempotency_key is None else idempotency_scope(created_by),
        "concurrency_key": concurrency_key,
        "waiting": None,
        "has_dependents": False,
        "deadline_seconds": deadline_seconds,
        "expires_at": expires_at,
        "aborted_by": None,
        "abort_reason": None,
        "traceparent": None,
    }


def life_bounds(
    definition: Any,
    run_at: float,
    deadline: float | None = None,
    expires: float | datetime | None = None,
) -> tuple[float | None, float | None]:
    """A new run's `deadline_seconds` and `expires_at` columns: the trigger's
    own, or else its definition's (`deadline`, `expires`); an expiry in
    seconds counts from when the run is due."""
    if deadline is None:
        deadline = getattr(definition, "deadline", None)
    if expires is None:
        expires = getattr(definition, "expires", None)
    if isinstance(expires, datetime):
        expires_at: float | None = expires.timestamp()
    else:
        expires_at = None if expires is None else run_at + float(expires)
    return (None if deadline is None else float(deadline)), expires_at


def concurrency_key_of(definition: Any, input: dict[str, Any]) -> str | None:
    """The run's `concurrency_key(input)` when its definition caps runs per
    key (`concurrency_per_key`) or rate-limits them per key
    (`rate_limit_key`); None otherwise."""
    per_key = getattr(definition, "concurrency_per_key", None) is not None
    if not per_key and not getattr(definition, "rate_limit_key", False):
        return None
    key = definition().concurrency_key(definition.parse_input(input))
    return None if key is None else str(key)[:200]


def another_run_row(
    template: dict[str, Any], input: dict[str, Any], concurrency_key: str | None
) -> dict[str, Any]:
    """A new run like `template` (from `new_run_row`, of a bulk trigger) but
    for its own id, input and concurrency key; same keys in the same order."""
    row = template.copy()
    row["id"] = new_id()
    row["input"] = input
    row["state"] = {}
    row["concurrency_key"] = concurrency_key
    return row


class InsertRuns(WriteOp[None]):
    """New runs (a trigger, a bulk trigger); merged into one executemany."""

    urgent = True

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        insert_rows(conn, runs, [row for op in ops for row in op.rows])
        return [None] * len(ops)

    def committed(self, result: None) -> NewRuns:
        return NewRuns(self.rows)


class InsertIdempotent(WriteOp[tuple[bool, RowMapping]]):
    """Inserts a run unless one with the same definition, idempotency key
    and scope exists; returns (created, the run). The unique index decides
    between concurrent callers (also across processes): the loser reads the
    winner. The run found is the caller's own (its scope is the caller's)."""

    urgent = True

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def _existing(self, conn: Connection) -> RowMapping | None:
        query = select(runs).where(
            runs.c.definition_id == self.row["definition_id"],
            runs.c.idempotency_scope == self.row["idempotency_scope"],
            runs.c.idempotency_key == self.row["idempotency_key"],
        )
        return conn.execute(query).mappings().first()

    def apply(self, conn: Connection) -> tuple[bool, RowMapping]:
        existing = self._existing(conn)
        if existing is not None:
            return False, existing
        try:
            with conn.begin_nested():
                conn.execute(insert(runs), [self.row])
        except IntegrityError:
            existing = self._existing(conn)
            if existing is None:
                raise
            return False, existing
        created = conn.execute(select(runs).where(runs.c.id == self.row["id"])).mappings().one()
        return True, created

    def committed(self, result: tuple[bool, RowMapping]) -> NewRuns | None:
        created, _run = result
        return NewRuns([self.row]) if created else None

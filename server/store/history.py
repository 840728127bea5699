"""A run's result history: one record per finished attempt, newest first.

The record of a finished run's last attempt is the run itself: the outcome
that finishes a run writes its status, times, output and error into the run
row, and a copy in `task_results` would say the same again (most runs end
on their first attempt, so that copy was most of the table). Only attempts
that a retry followed are stored. Reading puts the run's own record first;
a retry stores it before the run starts its next attempt. Records stored by
older versions, or by an abort or a rescue, are not shown twice: the run's
record stands in only when no stored record has its attempt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, insert, select
from sqlalchemy.engine import RowMapping

from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.models import results, runs


def _last_attempt(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """The record of the run's last attempt, from the run row, if the run
    has finished and that attempt has no stored record."""
    c = runs.c
    stored = exists().where(results.c.run_id == c.id, results.c.attempt == c.attempt)
    query = select(
        c.attempt,
        c.status,
        c.attempt_started_at.label("started_at"),
        c.finished_at,
        c.output,
        c.error_message,
        c.error_code,
        c.error_data,
    ).where(c.id == run_id, c.finished_at.is_not(None), ~stored)
    row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def history(
    conn: Connection, run_id: str, first: int, skip: int, *, kept: bool = True
) -> list[RowMapping | dict[str, Any]]:
    """`first` records after the newest `skip`. `kept`: whether the run's
    definition keeps a history at all (`max_results != -1`)."""
    found: list[RowMapping | dict[str, Any]] = []
    last = _last_attempt(conn, run_id) if kept else None
    if last is not None:
        if skip == 0 and first > 0:
            found.append(last)
            first -= 1
        else:
            skip -= 1
    if first > 0:
        query = (
            select(results)
            .where(results.c.run_id == run_id)
            .order_by(results.c.id.desc())
            .offset(skip)
            .limit(first)
        )
        found.extend(conn.execute(query).mappings())
    return found


def every_record(
    conn: Connection, run_id: str, skip: int, page: int, *, kept: bool = True
) -> list[RowMapping | dict[str, Any]]:
    """Every record after the newest `skip`, read `page` at a time in one
    transaction (`history(first: -1)`)."""
    found: list[RowMapping | dict[str, Any]] = []
    while True:
        chunk = history(conn, run_id, page, skip + len(found), kept=kept)
        found.extend(chunk)
        if len(chunk) < page:
            return found


def store_last_attempt(conn: Connection, row: RowMapping) -> None:
    """Before a finished run starts over (a retry): its last attempt's
    record, from the run row, into the table (unless stored already)."""
    last = _last_attempt(conn, row["id"])
    if last is not None:
        conn.execute(insert(results).values(run_id=row["id"], **last))


def _ended(outcomes: Sequence[IterationOutcome]) -> list[IterationOutcome]:
    return [o for o in outcomes if (o.finished or o.history) and o.max_results != -1]


def records_to_store(outcomes: Sequence[IterationOutcome]) -> list[dict[str, Any]]:
    """The history records the outcomes store: those of attempts a retry
    follows."""
    return [o.history for o in _ended(outcomes) if o.history and not o.finished]


def to_trim(outcomes: Sequence[IterationOutcome]) -> list[IterationOutcome]:
    """The outcomes whose runs may then hold more records than their
    definitions keep (a run has at most attempt + 1, so most need none)."""
    return [o for o in _ended(outcomes) if 0 < o.max_results < o.attempt + 1]


def trim_records(conn: Connection, outcomes: Sequence[IterationOutcome]) -> None:
    """After `records_to_store` are stored: each run's stored records
    capped to its definition's `max_results` (which counts the run's own
    record once it has finished)."""
    for o in to_trim(outcomes):
        keep = (
            select(results.c.id)
            .where(results.c.run_id == o.run_id)
            .order_by(results.c.id.desc())
            .limit(o.max_results - 1 if o.finished else o.max_results)
        )
        conn.execute(
            delete(results).where(
                and_(results.c.run_id == o.run_id, results.c.id.not_in(keep.scalar_subquery()))
            )
        )

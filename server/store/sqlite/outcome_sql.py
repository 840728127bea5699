"""An outcome's UPDATE on SQLite, shaped by what the outcome changes.

The portable UPDATE (transitions.FINISH_ITERATION, the path other databases
take) binds twenty
parameters and has SQLite evaluate a CASE or coalesce for every optional
column. Most outcomes change a handful: no error, no progress, no status
message, nothing to clear. Here each outcome gets the statement of its
shape, which sets only what it changes, and its values go straight from the
`IterationOutcome` into a list (SQLite stores what the generic UPDATE would).
Booleans become literals: the sqlite3 module looks up an adapter for every
bool it binds, not for an int. The UPDATE checks the lease itself (RUNNING,
held by the outcome's claim: its worker and token) and counts what it wrote, so a batch whose
leases are all held needs no lookup first (outcomes.py). There, an outcome
whose run this process claimed is found by the rowid its claim returned
(rowids.py), its id checked as well: SQLite then skips a search of the
primary-key index. tests/integration/test_store_outcome_sql.py holds the
shapes to the portable UPDATE.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError

from taskloom.server.store.iteration_outcome import Holder, IterationOutcome
from taskloom.server.store.models import runs
from taskloom.server.store.sqlite.compiled import bind_processor, json_bind
from taskloom.server.store.sqlite.rowids import claimed_rowids
from taskloom.server.store.sqlite.scripts import Step, grouped, run_steps
from taskloom.server.store.transitions import RUNNING

Shape = tuple[bool, ...]
Encode = Callable[[Any], Any]


def _update_sql(shape: Shape) -> str:
    error, finished, progress, message, clear, new_attempt, has_errors, waiting, by_rowid = shape
    sets = [
        "status = ?, state = ?, output = ?, iterations = ?, attempt = ?, run_at = ?",
        "updated_at = ?, error_data = ?, worker_id = NULL, lease_expires_at = NULL",
        "error_message = ?, error_code = ?" if error else "error_message = NULL, error_code = NULL",
        "finished_at = ?" if finished else "finished_at = NULL",
    ]
    if progress:
        sets.append(
            "progress_current = coalesce(?, progress_current), progress_total = ?, "
            "progress_units = ?"
        )
    if message:
        sets.append("status_message = ?")
    if clear:
        sets.append("requested = NULL")
    if new_attempt:
        sets.append("attempt_started_at = NULL")
    if has_errors:
        sets.append("has_errors = 1")
    # A claimed run waits for nothing: only an outcome that waits sets it.
    if waiting:
        sets.append("waiting = ?")
    row = "rowid = ? AND id = ?" if by_rowid else "id = ?"
    return (
        f"UPDATE task_runs SET {', '.join(sets)} "
        f"WHERE {row} AND status = '{RUNNING}' AND worker_id = ? AND claims = ?"
    )


def _update(o: IterationOutcome, e: _Encoders, rowids: bool) -> tuple[Shape, list[Any]]:
    values = [
        o.status,
        e.state(o.state),
        e.output(o.output),
        o.iterations,
        o.attempt,
        o.run_at,
        o.now,
        e.error_data(o.error_data),
    ]
    error = o.error_message is not None or o.error_code is not None
    if error:
        values += (o.error_message, o.error_code)
    if o.finished:
        values.append(o.now)
    progress = o.progress
    if progress is not None:
        values += progress
    message = o.status_message
    if message is not None:
        values.append(message)
    if o.waiting is not None:
        values.append(o.waiting)
    rowid = claimed_rowids.take(o.run_id) if rowids else None
    by_rowid = rowid is not None
    if by_rowid:
        values.append(rowid)
    values += (o.run_id, o.worker_id, o.claim)
    shape = (
        error,
        o.finished,
        progress is not None,
        message is not None,
        o.clear_request,
        o.new_attempt,
        o.has_errors,
        o.waiting is not None,
        by_rowid,
    )
    return shape, values


class _Encoders:
    """The JSON columns' bind processors, as the portable statements apply
    them."""

    def __init__(self, dialect: Dialect) -> None:
        def processor(column: Any) -> Encode:
            process = bind_processor(column.type, dialect)
            return json_bind(process) if process is not None else lambda value: value

        self.state = processor(runs.c.state)
        self.output = processor(runs.c.output)
        self.error_data = processor(runs.c.error_data)


_ENCODERS: dict[int, _Encoders] = {}
_SQL: dict[Shape, str] = {}


def update_steps(
    dialect: Dialect, outcomes: Sequence[IterationOutcome], *, rowids: bool
) -> list[Step]:
    """The UPDATEs of `update_runs`, as script steps: one executemany per
    run of consecutive outcomes of the same shape, so the rows reach the
    database in the order given."""
    encoders = _ENCODERS.get(id(dialect))
    if encoders is None:
        encoders = _ENCODERS[id(dialect)] = _Encoders(dialect)
    return grouped(_statement(outcome, encoders, rowids) for outcome in outcomes)


def _statement(
    outcome: IterationOutcome, encoders: _Encoders, rowids: bool
) -> tuple[str, list[Any]]:
    shape, values = _update(outcome, encoders, rowids)
    sql = _SQL.get(shape)
    if sql is None:
        sql = _SQL[shape] = _update_sql(shape)
    return sql, values


def update_runs(
    conn: Connection, outcomes: Sequence[IterationOutcome], *, rowids: bool = False
) -> int:
    """The runs' columns after the outcomes, for those whose claim holds
    the run (RUNNING, its worker_id and claim token); returns how many it wrote. With
    `rowids`, a run is found by the rowid its claim returned, where there is
    one (a stale rowid writes nothing, and the caller takes that for a lost
    lease)."""
    steps = update_steps(conn.dialect, outcomes, rowids=rowids)
    return sum(run_steps(conn, steps))


_CHUNK = 500


def running_holders(conn: Connection, run_ids: Sequence[str]) -> dict[str, Holder]:
    """`{run id: (worker id, claim token)}` of those of `run_ids` that are
    RUNNING.
    (BEGIN IMMEDIATE already serialises every writer on SQLite.)"""
    driver = conn.connection.driver_connection
    assert driver is not None
    holders: dict[str, Holder] = {}
    for start in range(0, len(run_ids), _CHUNK):
        chunk = list(run_ids[start : start + _CHUNK])
        marks = ", ".join("?" * len(chunk))
        sql = (
            f"SELECT id, worker_id, claims FROM task_runs "
            f"WHERE status = '{RUNNING}' AND id IN ({marks})"
        )
        try:
            holders.update((r[0], (r[1], r[2])) for r in driver.execute(sql, chunk))
        except Exception as exc:
            raise StatementError(str(exc), sql, None, exc) from exc
    return holders

"""Write operations on runs. Each is applied by the writer inside a shared
transaction; the ones that come in bulk merge into executemany statements."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    any_,
    bindparam,
    case,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Dialect, RowMapping
from sqlalchemy.sql.dml import ReturningUpdate

from taskloom.server.store import history, outcome_sql
from taskloom.server.store.batch import WriteOp
from taskloom.server.store.fast import RowReader, claim_script, running_owners
from taskloom.server.store.inserts import insert_rows, insert_steps
from taskloom.server.store.models import logs, results, runs
from taskloom.server.store.outcome import Outcome
from taskloom.server.store.scripts import Script, run_steps

RUNNING = "RUNNING"
PENDING = "PENDING"


class InsertRuns(WriteOp[None]):
    """New runs (a trigger, a bulk trigger); merged into one executemany."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        rows = [row for op in ops for row in op.rows]
        if rows:
            insert_rows(conn, runs, rows)
        return [None] * len(ops)

    def script(self, dialect: Dialect) -> Script | None:
        steps = insert_steps(dialect, runs, self.rows) if dialect.name == "sqlite" else None
        return Script(steps) if steps else None

    def from_script(self, results: list[Any]) -> None:
        return None


class InsertLogs(WriteOp[list[int]]):
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def apply(self, conn: Connection) -> list[int]:
        if not self.rows:
            return []
        result = conn.execute(insert(logs).returning(logs.c.id), self.rows)
        return [row[0] for row in result]


class Claim(WriteOp[list[RowMapping]]):
    """Takes up to `limit` due runs, highest priority first, then due time,
    then age, and leases them to `worker_id`."""

    def __init__(
        self, worker_id: str, limit: int, now: float, lease_until: float, definitions: list[str]
    ) -> None:
        self.worker_id = worker_id
        self.limit = limit
        self.now = now
        self.lease_until = lease_until
        self.definitions = definitions
        self._reader: RowReader | None = None

    def script(self, dialect: Dialect) -> Script | None:
        return self._script(dialect, oldest_first=False)

    def _script(self, dialect: Dialect, *, oldest_first: bool) -> Script | None:
        if dialect.name != "sqlite" or not self.definitions or self.limit <= 0:
            return None
        script, self._reader = claim_script(
            dialect,
            CLAIMED,
            worker_id=self.worker_id,
            limit=self.limit,
            now=self.now,
            lease_until=self.lease_until,
            definitions=self.definitions,
            oldest_first=oldest_first,
        )
        return script

    def from_script(self, results: list[Any]) -> list[RowMapping]:
        assert self._reader is not None
        claimed = [found for found in results if found is not None][-1]
        return cast(list[RowMapping], self._reader.read(claimed))

    def apply(self, conn: Connection) -> list[RowMapping]:
        if conn.dialect.name == "sqlite":
            # Its script, on this connection; plain dicts, read by key like
            # RowMapping without its cost.
            script = self._script(conn.dialect, oldest_first=False)
            return [] if script is None else self.from_script(run_steps(conn, script.steps))
        # PostgreSQL reads ix_task_runs_claim in its own order (migration
        # 0006) and stops at the limit; `id = ANY(ARRAY(...))`, for `id IN`
        # may join the chosen ids to a scan of the table.
        due = (
            select(runs.c.id)
            .where(runs.c.status == PENDING, runs.c.run_at <= self.now)
            .where(runs.c.definition_id.in_(self.definitions))
            .order_by(runs.c.priority.desc(), runs.c.run_at, runs.c.id)
            .limit(self.limit)
            .with_for_update(skip_locked=True)
        )
        claim = lease(
            runs.c.id == any_(func.array(due.scalar_subquery())),
            worker_id=self.worker_id,
            now=self.now,
            lease_until=self.lease_until,
        )
        with planned_without_sort(conn):
            return list(conn.execute(claim).mappings())


@contextmanager
def planned_without_sort(conn: Connection) -> Iterator[None]:
    """PostgreSQL plans the statements inside without a sort where it has
    another way, here the claim index's order. Statistics from before a
    backlog was written (a table new or not yet analyzed) promise a few
    due runs, and it would sort them all instead: 15 ms a claim among
    10,000. Only inside, since a claim shares its transaction with other
    writes (a failure rolls the setting back with the transaction)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    yield
    conn.exec_driver_sql("SET LOCAL enable_sort = on")


# What the engine reads of a claimed run (server/engine): a claim returns
# these columns only, a third of the row, on every path.
CLAIMED = (
    runs.c.id,
    runs.c.definition_id,
    runs.c.name,
    runs.c.requested,
    runs.c.input,
    runs.c.state,
    runs.c.iterations,
    runs.c.attempt,
    runs.c.attempt_started_at,
    runs.c.simulate,
    runs.c.parent_id,
    runs.c.created_by,
    runs.c.concurrency_key,
)


def lease(
    *where: ColumnElement[bool], worker_id: str, now: float, lease_until: float
) -> ReturningUpdate[Any]:
    """The UPDATE that makes the runs matching `where` RUNNING, leased to
    `worker_id` until `lease_until`, and returns their CLAIMED columns."""
    return (
        update(runs)
        .where(*where)
        .values(
            status=RUNNING,
            worker_id=worker_id,
            lease_expires_at=lease_until,
            started_at=func.coalesce(runs.c.started_at, now),
            attempt_started_at=func.coalesce(runs.c.attempt_started_at, now),
            updated_at=now,
        )
        .returning(*CLAIMED)
    )


_OUTCOME_UPDATE = (
    update(runs)
    .where(runs.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        state=bindparam("b_state"),
        output=bindparam("b_output"),
        error_message=bindparam("b_error_message"),
        error_code=bindparam("b_error_code"),
        error_data=bindparam("b_error_data"),
        iterations=bindparam("b_iterations"),
        attempt=bindparam("b_attempt"),
        run_at=bindparam("b_run_at"),
        finished_at=bindparam("b_finished_at"),
        attempt_started_at=case(
            (bindparam("b_new_attempt"), None), else_=runs.c.attempt_started_at
        ),
        updated_at=bindparam("b_now"),
        worker_id=None,
        lease_expires_at=None,
        requested=case((bindparam("b_clear_request"), None), else_=runs.c.requested),
        has_errors=runs.c.has_errors | bindparam("b_has_errors"),
        progress_current=func.coalesce(bindparam("b_progress_current"), runs.c.progress_current),
        progress_total=case(
            (bindparam("b_progress_set"), bindparam("b_progress_total")),
            else_=runs.c.progress_total,
        ),
        progress_units=case(
            (bindparam("b_progress_set"), bindparam("b_progress_units")),
            else_=runs.c.progress_units,
        ),
        status_message=func.coalesce(bindparam("b_status_message"), runs.c.status_message),
    )
)


def _outcome_params(o: Outcome) -> dict[str, Any]:
    progress = o.progress or (None, None, None)
    return {
        "b_id": o.run_id,
        "b_status": o.status,
        "b_state": o.state,
        "b_output": o.output,
        "b_error_message": o.error_message,
        "b_error_code": o.error_code,
        "b_error_data": o.error_data,
        "b_iterations": o.iterations,
        "b_attempt": o.attempt,
        "b_run_at": o.run_at,
        "b_finished_at": o.now if o.finished else None,
        "b_new_attempt": o.new_attempt,
        "b_now": o.now,
        "b_clear_request": o.clear_request,
        "b_has_errors": o.has_errors,
        "b_progress_current": progress[0],
        "b_progress_set": o.progress is not None,
        "b_progress_total": progress[1],
        "b_progress_units": progress[2],
        "b_status_message": o.status_message,
    }


class SaveOutcome(WriteOp[bool]):
    """An iteration's outcome. Applied only while the worker still holds the
    run's lease; returns False when the lease was lost (nothing written)."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        outcomes: list[Outcome] = [op.outcome for op in ops]
        if conn.dialect.name == "sqlite" and _save_if_all_held(conn, outcomes):
            return [True] * len(outcomes)
        owners: dict[str, str | None]
        if conn.dialect.name == "sqlite":
            # BEGIN IMMEDIATE already serialises every writer on SQLite.
            owners = running_owners(conn, [o.run_id for o in outcomes])
        else:
            # By primary key alone, status read here: with `status = ...` in
            # the query, stale statistics chose the status index, every
            # RUNNING run of every worker. Locked (in id order) so that a
            # rescue or an abort in another process cannot change the rows
            # between check and write.
            ids = bindparam("ids", [o.run_id for o in outcomes], type_=ARRAY(String))
            query = (
                select(runs.c.id, runs.c.worker_id, runs.c.status)
                .where(runs.c.id == any_(ids))
                .order_by(runs.c.id)
                .with_for_update()
            )
            owners = {
                run_id: worker
                for run_id, worker, status in conn.execute(query)
                if status == RUNNING
            }
        held = [o for o in outcomes if owners.get(o.run_id) == o.worker_id]
        if held:
            if conn.dialect.name == "sqlite":
                outcome_sql.update_runs(conn, held)
            else:
                conn.execute(_OUTCOME_UPDATE, [_outcome_params(o) for o in held])
            write_dependents(conn, held)
        return [owners.get(o.run_id) == o.worker_id for o in outcomes]


def _save_if_all_held(conn: Connection, outcomes: Sequence[Outcome]) -> bool:
    """SQLite: the outcomes and their dependents, each lease checked by its
    own UPDATE, which is all a batch needs when every lease is held. When
    one is not, all is rolled back and False returned: telling the lost
    leases apart takes the owners lookup."""
    nested = conn.begin_nested()
    try:
        if outcome_sql.update_runs(conn, outcomes, rowids=True) == len(outcomes):
            write_dependents(conn, outcomes)
            nested.commit()
            return True
    except BaseException:
        nested.rollback()
        raise
    nested.rollback()
    return False


class SaveOutcomes(WriteOp[list[bool | Exception]]):
    """A worker's finished iterations, one op for the batch: for each, True
    (saved), False (lease lost) or the exception that kept it from being
    saved. A failing outcome is retried alone, inside a savepoint, so it
    fails only itself, as separate `SaveOutcome` ops would."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        self.outcomes = outcomes

    def apply(self, conn: Connection) -> list[bool | Exception]:
        ops = [SaveOutcome(o) for o in self.outcomes]
        try:
            with conn.begin_nested():
                return list(SaveOutcome.apply_many(conn, ops))
        except Exception as exc:
            if len(ops) == 1:
                return [exc]
        results: list[bool | Exception] = []
        for op in ops:
            try:
                with conn.begin_nested():
                    results.append(SaveOutcome.apply_many(conn, [op])[0])
            except Exception as exc:
                results.append(exc)
        return results

    def script(self, dialect: Dialect) -> Script | None:
        """The fast path's statements (`_save_if_all_held`), guarded: rolled
        back unless every lease was held. A changed input or a capped
        history needs this process's connection."""
        outcomes = self.outcomes
        if dialect.name != "sqlite" or history.to_trim(outcomes):
            return None
        if any(o.new_input is not None for o in outcomes):
            return None
        updates = outcome_sql.update_steps(dialect, outcomes, rowids=True)
        script = Script(list(updates), guarded=len(updates), expect=len(outcomes))
        for table, rows in _dependents(outcomes):
            steps = insert_steps(dialect, table, rows)
            if steps is None:
                return None
            script.steps += steps
        return script

    def from_script(self, results: list[Any]) -> list[bool | Exception]:
        return [True] * len(self.outcomes)


def _dependents(outcomes: Sequence[Outcome]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The rows the outcomes insert, by table, in the order written."""
    return [
        (logs, [row for o in outcomes for row in o.logs]),
        (runs, [row for o in outcomes for row in o.children]),
        (results, history.records_to_store(outcomes)),
    ]


def write_dependents(conn: Connection, outcomes: Sequence[Outcome]) -> None:
    """Logs, children, changed inputs and result history (capped) of the
    given outcomes."""
    for table, rows in _dependents(outcomes):
        if rows:
            insert_rows(conn, table, rows)
    changed_inputs = [o for o in outcomes if o.new_input is not None]
    if changed_inputs:
        conn.execute(
            update(runs).where(runs.c.id == bindparam("b_id")).values(input=bindparam("b_input")),
            [{"b_id": o.run_id, "b_input": o.new_input} for o in changed_inputs],
        )
    history.trim_records(conn, outcomes)

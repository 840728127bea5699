"""Finish an iteration: a worker's outcomes written, each only while its
claim still holds the run (transitions.FINISH_ITERATION), with what they
leave behind (logs, children, changed inputs, result history).

SQLite takes the adapter's UPDATEs shaped by what each outcome changes
(sqlite/outcome_sql.py), which check the lease themselves: a batch whose
leases are all held needs no lookup first. Otherwise the owners are looked
up and only the held outcomes written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from taskloom.server.store import history, transitions
from taskloom.server.store.committed import Committed, NewRuns, RunsMoved
from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.inserts import insert_rows
from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.models import dependencies, logs, results, runs
from taskloom.server.store.postgres import planning
from taskloom.server.store.sqlite import outcome_sql
from taskloom.server.store.transitions import FINISH_ITERATION, SUCCEEDED


def finish_params(o: IterationOutcome) -> dict[str, Any]:
    """The parameters of FINISH_ITERATION for one outcome."""
    progress = o.progress or (None, None, None)
    return {
        "b_id": o.run_id,
        "b_worker_id": o.worker_id,
        "b_claim": o.claim,
        "b_status": o.status,
        "b_state": o.state,
        "b_output": o.output,
        "b_error_message": o.error_message,
        "b_error_code": o.error_code,
        "b_error_data": o.error_data,
        "b_iterations": o.iterations,
        "b_attempt": o.attempt,
        "b_run_at": o.run_at,
        "b_waiting": o.waiting,
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


def finish(conn: Connection, outcomes: Sequence[IterationOutcome]) -> list[bool]:
    """Writes the outcomes whose claim holds the run (its worker and token);
    for each, whether it was written (False: the lease was lost, nothing
    written)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite and _finish_if_all_held(conn, outcomes):
        return [True] * len(outcomes)
    ids = [o.run_id for o in outcomes]
    holders = (
        outcome_sql.running_holders(conn, ids) if sqlite else planning.running_holders(conn, ids)
    )
    held = [o for o in outcomes if holders.get(o.run_id) == (o.worker_id, o.claim)]
    if held:
        if sqlite:
            outcome_sql.update_runs(conn, held)
        else:
            conn.execute(FINISH_ITERATION, [finish_params(o) for o in held])
        write_dependents(conn, held)
    return [holders.get(o.run_id) == (o.worker_id, o.claim) for o in outcomes]


def _finish_if_all_held(conn: Connection, outcomes: Sequence[IterationOutcome]) -> bool:
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


class FinishIterations(WriteOp[list[bool | Exception]]):
    """A worker's finished iterations, one op for the batch: for each, True
    (saved), False (lease lost) or the exception that kept it from being
    saved. A failing outcome is retried alone, inside a savepoint, so it
    fails only itself."""

    urgent = True
    bounded = False

    def __init__(self, outcomes: list[IterationOutcome]) -> None:
        self.outcomes = outcomes
        # The runs the saved successes released (release_dependents).
        self.released: list[tuple[str, str]] = []
        # Whether a saved outcome ended otherwise a run others wait on:
        # store/waits.py fails them (the saver runs it next).
        self.failed_dependencies = False

    def apply(self, conn: Connection) -> list[bool | Exception]:
        results = self._finish(conn)
        saved = [o for o, result in zip(self.outcomes, results, strict=True) if result is True]
        self.released = release_dependents(conn, saved)
        ended = failed_ids(saved)
        if ended:
            waited_on = select(dependencies.c.run_id).where(dependencies.c.depends_on.in_(ended))
            self.failed_dependencies = conn.execute(waited_on.limit(1)).first() is not None
        return results

    def _finish(self, conn: Connection) -> list[bool | Exception]:
        try:
            with conn.begin_nested():
                return list(finish(conn, self.outcomes))
        except Exception as exc:
            if len(self.outcomes) == 1:
                return [exc]
        results: list[bool | Exception] = []
        for outcome in self.outcomes:
            try:
                with conn.begin_nested():
                    results.append(finish(conn, [outcome])[0])
            except Exception as exc:
                results.append(exc)
        return results

    def committed(self, result: list[bool | Exception]) -> Committed | None:
        """The children of the saved outcomes, and the runs they released."""
        saved = zip(self.outcomes, result, strict=True)
        children = [child for o, done in saved if done is True for child in o.children]
        told: list[NewRuns | RunsMoved] = [NewRuns(children)] if children else []
        if self.released:
            told.append(RunsMoved(self.released, due=True))
        return told[0] if len(told) == 1 else (tuple(told) or None)


def failed_ids(saved: Sequence[IterationOutcome]) -> list[str]:
    """The runs these outcomes ended other than SUCCEEDED: their dependents
    will not run (read from the database, as `release_dependents` is)."""
    return [o.run_id for o in saved if o.finished and o.status != SUCCEEDED]


def release_dependents(
    conn: Connection, saved: Sequence[IterationOutcome]
) -> list[tuple[str, str]]:
    """Wakes the runs waiting for the saved successes, once every
    dependency of theirs has SUCCEEDED (transitions.release_dependents):
    in the outcomes' own transaction, so a dependent is due as soon as
    its last dependency's success is committed, on every worker. Read from
    the database, not the claimed row: a dependent may have been triggered
    after its dependency was claimed."""
    succeeded = [o for o in saved if o.status == SUCCEEDED]
    if not succeeded:
        return []
    now = max(o.now for o in succeeded)
    statement, params = transitions.release_dependents([o.run_id for o in succeeded], now)
    return [(run_id, status) for run_id, status in conn.execute(statement, params)]


def dependents(outcomes: Sequence[IterationOutcome]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The rows the outcomes insert, by table, in the order written."""
    return [
        (logs, [row for o in outcomes for row in o.logs]),
        (runs, [row for o in outcomes for row in o.children]),
        (results, history.records_to_store(outcomes)),
    ]


def write_dependents(conn: Connection, outcomes: Sequence[IterationOutcome]) -> None:
    """Logs, children, changed inputs and result history (capped) of the
    given outcomes."""
    for table, rows in dependents(outcomes):
        insert_rows(conn, table, rows)
    changed_inputs = [o for o in outcomes if o.new_input is not None]
    if changed_inputs:
        conn.execute(
            update(runs).where(runs.c.id == bindparam("b_id")).values(input=bindparam("b_input")),
            [{"b_id": o.run_id, "b_input": o.new_input} for o in changed_inputs],
        )
    history.trim_records(conn, outcomes)

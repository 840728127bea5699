"""On SQLite an outcome is written by a statement shaped by what it changes
(server/store/sqlite/outcome_sql.py); every other database takes the
portable UPDATE (transitions.FINISH_ITERATION). For any outcome, on any
running row, both must leave the same row: checked side by side on two real
SQLite databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, insert, select

from taskloom.server.store.iteration_outcome import IterationOutcome
from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import new_run_row
from taskloom.server.store.outcomes import FinishIterations, finish_params
from taskloom.server.store.sqlite import outcome_sql
from taskloom.server.store.sqlite.rowids import claimed_rowids
from taskloom.server.store.transitions import FINISH_ITERATION
from tests.support.sqlite_pair import sqlite_pair

WORKER = "worker-1"
RUN_ID = "0190a000-0000-7000-8000-000000000001"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
maybe_text = st.none() | st.text(max_size=12)
times = st.floats(1.6e9, 2.1e9)
maybe_float = st.none() | st.floats(-1e6, 1e6)


@st.composite
def outcomes(draw: st.DrawFn) -> IterationOutcome:
    return IterationOutcome(
        run_id=RUN_ID,
        worker_id=WORKER,
        claim=0,
        status=draw(st.sampled_from(["SUCCEEDED", "FAILED", "PENDING", "ABORTED", "PAUSED"])),
        state=draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3)),
        iterations=draw(st.integers(0, 10**6)),
        attempt=draw(st.integers(0, 50)),
        run_at=draw(times),
        now=draw(times),
        output=draw(json_values),
        error_message=draw(maybe_text),
        error_code=draw(maybe_text),
        error_data=draw(json_values),
        finished=draw(st.booleans()),
        new_attempt=draw(st.booleans()),
        clear_request=draw(st.booleans()),
        has_errors=draw(st.booleans()),
        progress=draw(st.none() | st.tuples(st.floats(-1e6, 1e6), maybe_float, maybe_text)),
        status_message=draw(maybe_text),
        waiting=draw(st.sampled_from([None, "CHILDREN"])),
    )


@st.composite
def running_rows(draw: st.DrawFn) -> dict[str, Any]:
    """A RUNNING run leased to WORKER, with every optional column that an
    outcome may keep or replace set or not."""
    created = draw(times)
    row = new_run_row(definition_id="job", input={}, now=created, run_at=created, run_id=RUN_ID)
    row.update(
        status="RUNNING",
        worker_id=WORKER,
        lease_expires_at=draw(times),
        started_at=draw(times),
        attempt_started_at=draw(st.none() | times),
        requested=draw(st.sampled_from([None, "ABORT", "PAUSE"])),
        has_errors=draw(st.booleans()),
        progress_current=draw(maybe_float),
        progress_total=draw(maybe_float),
        progress_units=draw(maybe_text),
        status_message=draw(maybe_text),
    )
    return row


@pytest.fixture(scope="module")
def connections() -> Iterator[tuple[Connection, Connection]]:
    """Two in-memory SQLite databases: shaped statements, generic ones."""
    with sqlite_pair() as pair:
        yield pair


def _stored(conn: Connection) -> dict[str, Any]:
    (run,) = conn.execute(select(runs)).mappings().all()
    return dict(run)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(row=running_rows(), outcome=outcomes())
def test_shaped_statements_store_what_the_generic_ones_store(
    connections: tuple[Connection, Connection], row: dict[str, Any], outcome: IterationOutcome
) -> None:
    shaped, generic = connections
    for conn in (shaped, generic):
        conn.execute(delete(runs))
        conn.execute(insert(runs), [row])

    outcome_sql.update_runs(shaped, [outcome])
    generic.execute(FINISH_ITERATION, [finish_params(outcome)])

    shaped_run, generic_run = _stored(shaped), _stored(generic)
    differing = {k: (v, generic_run[k]) for k, v in shaped_run.items() if v != generic_run[k]}
    assert differing == {}


def test_a_batch_of_mixed_shapes_keeps_each_outcome(
    connections: tuple[Connection, Connection],
) -> None:
    """Outcomes of different shapes in one batch go out as several
    executemany calls; each run gets its own outcome."""
    shaped, _ = connections
    shaped.execute(delete(runs))
    ids = [f"0190a000-0000-7000-8000-00000000010{i}" for i in range(4)]
    rows = []
    for run_id in ids:
        row = new_run_row(definition_id="job", input={}, now=1.7e9, run_at=1.7e9, run_id=run_id)
        row.update(status="RUNNING", worker_id=WORKER)
        rows.append(row)
    shaped.execute(insert(runs), rows)
    base: dict[str, Any] = {
        "worker_id": WORKER,
        "state": {},
        "run_at": 1.7e9,
        "now": 1.8e9,
        "attempt": 0,
        "claim": 0,
    }
    batch = [
        IterationOutcome(
            run_id=ids[0], status="SUCCEEDED", iterations=1, output=1, finished=True, **base
        ),
        IterationOutcome(
            run_id=ids[1], status="FAILED", iterations=2, error_message="boom", **base
        ),
        IterationOutcome(
            run_id=ids[2], status="SUCCEEDED", iterations=3, output=3, finished=True, **base
        ),
        IterationOutcome(
            run_id=ids[3], status="PENDING", iterations=4, status_message="half", **base
        ),
    ]
    outcome_sql.update_runs(shaped, batch)
    stored = {
        r.id: r
        for r in shaped.execute(
            select(
                runs.c.id,
                runs.c.status,
                runs.c.iterations,
                runs.c.output,
                runs.c.error_message,
                runs.c.status_message,
                runs.c.finished_at,
                runs.c.worker_id,
            )
        )
    }
    assert [tuple(stored[i])[1:] for i in ids] == [
        ("SUCCEEDED", 1, 1, None, None, 1.8e9, None),
        ("FAILED", 2, None, "boom", None, None, None),
        ("SUCCEEDED", 3, 3, None, None, 1.8e9, None),
        ("PENDING", 4, None, None, "half", None, None),
    ]


def _two_running_runs(conn: Connection) -> dict[str, int]:
    """Two RUNNING runs leased to WORKER; their rowids by id."""
    conn.execute(delete(runs))
    ids = ["0190a000-0000-7000-8000-000000000201", "0190a000-0000-7000-8000-000000000202"]
    for run_id in ids:
        row = new_run_row(definition_id="job", input={}, now=1.7e9, run_at=1.7e9, run_id=run_id)
        row.update(status="RUNNING", worker_id=WORKER)
        conn.execute(insert(runs), [row])
    found = conn.exec_driver_sql("SELECT id, rowid FROM task_runs").all()
    return {run_id: rowid for run_id, rowid in found}


def _succeeded(run_id: str, rowid: int | None) -> IterationOutcome:
    """The outcome of a run whose claim returned `rowid`."""
    if rowid is not None:
        claimed_rowids.remember([(run_id, rowid)])
    return IterationOutcome(
        run_id=run_id,
        worker_id=WORKER,
        claim=0,
        status="SUCCEEDED",
        state={},
        iterations=1,
        attempt=0,
        run_at=1.8e9,
        now=1.8e9,
        finished=True,
    )


def _statuses(conn: Connection) -> dict[str, str]:
    return {r.id: r.status for r in conn.execute(select(runs.c.id, runs.c.status))}


def test_a_run_is_found_by_its_rowid_and_its_id_both(
    connections: tuple[Connection, Connection],
) -> None:
    shaped, _ = connections
    rowids = _two_running_runs(shaped)
    first, second = rowids

    # Another run's rowid (as after a VACUUM renumbered them) writes nothing.
    assert outcome_sql.update_runs(shaped, [_succeeded(first, rowids[second])], rowids=True) == 0
    assert _statuses(shaped) == {first: "RUNNING", second: "RUNNING"}

    assert outcome_sql.update_runs(shaped, [_succeeded(first, rowids[first])], rowids=True) == 1
    assert _statuses(shaped) == {first: "SUCCEEDED", second: "RUNNING"}


def test_a_stale_rowid_still_saves_the_outcome_by_its_id(
    connections: tuple[Connection, Connection],
) -> None:
    """The batch that finds fewer rows by rowid than it has outcomes is
    written again by id, after the lease check."""
    shaped, _ = connections
    rowids = _two_running_runs(shaped)
    first, second = rowids
    batch = [_succeeded(first, rowids[second]), _succeeded(second, rowids[second])]

    assert FinishIterations(batch).apply(shaped) == [True, True]
    assert _statuses(shaped) == {first: "SUCCEEDED", second: "SUCCEEDED"}

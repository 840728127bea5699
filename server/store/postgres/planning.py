"""PostgreSQL's hot paths, steered to the plans they were measured with.

Statistics from before a backlog was written (a table new or not yet
analyzed) promise a few due runs, and the planner then chose plans that cost
a claim 11-14 ms among 20,000 runs (bench/RESULTS.md, items 60, 61 and 65): a sort
of every due run, or the status index with every RUNNING run behind it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import ARRAY, Connection, String, any_, bindparam, select

from taskloom.server.store.iteration_outcome import Holder
from taskloom.server.store.models import runs
from taskloom.server.store.transitions import RUNNING


@contextmanager
def planned_without_sort(conn: Connection) -> Iterator[None]:
    """The statements inside are planned without a sort where there is
    another way, here the claim index's order (it ends with id, migration
    0006). Only inside, since a claim shares its transaction with other
    writes (a failure rolls the setting back with the transaction). On
    other databases, nothing."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL enable_sort = off")
    yield
    conn.exec_driver_sql("SET LOCAL enable_sort = on")


def running_holders(conn: Connection, run_ids: Sequence[str]) -> dict[str, Holder]:
    """`{run id: (worker id, claim token)}` of those of `run_ids` that are RUNNING, their
    rows locked (in id order) so that a rescue or an abort in another
    process cannot change them between check and write. By primary key
    alone, the status read here: with `status = ...` in the query, stale
    statistics chose the status index, every RUNNING run of every worker."""
    ids = bindparam("ids", list(run_ids), type_=ARRAY(String))
    query = (
        select(runs.c.id, runs.c.worker_id, runs.c.claims, runs.c.status)
        .where(runs.c.id == any_(ids))
        .order_by(runs.c.id)
        .with_for_update()
    )
    return {
        run_id: (worker, claim)
        for run_id, worker, claim, status in conn.execute(query)
        if status == RUNNING
    }

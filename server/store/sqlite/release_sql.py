"""`transitions.release_dependents` by hand, as a script step the SQLite
writer process runs with an outcome batch (op_scripts.py): the runs that
depend on the batch's SUCCEEDED runs, woken in the outcomes' transaction
once every dependency of theirs has SUCCEEDED; and whether runs depend on
those the batch ended otherwise (outcomes.FinishIterations).
tests/integration/test_store_release_dependents.py holds it to the
portable statement."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from taskloom.server.store.sqlite.scripts import Step, rows_step
from taskloom.server.store.transitions import DEPENDENCIES, PAUSED, PENDING, SUCCEEDED


@cache
def _sql(count: int) -> str:
    """The statement for `count` succeeded runs (one text per count)."""
    marks = ", ".join("?" * count)
    return (
        "UPDATE task_runs SET run_at = CASE WHEN scheduled_at > ? THEN scheduled_at ELSE ? END, "
        "updated_at = ?, waiting = NULL "
        f"WHERE waiting = '{DEPENDENCIES}' AND status IN ('{PENDING}', '{PAUSED}') "
        "AND id IN (SELECT run_id FROM task_run_dependencies "
        f"WHERE depends_on IN ({marks})) "
        "AND NOT EXISTS (SELECT 1 FROM task_run_dependencies AS d WHERE d.run_id = task_runs.id "
        "AND coalesce((SELECT s.status FROM task_runs AS s WHERE s.id = d.depends_on), '') "
        f"!= '{SUCCEEDED}') "
        "RETURNING id, status"
    )


def release_step(succeeded: Sequence[str], now: float) -> Step:
    """A rows step: the released runs' (id, status)."""
    return rows_step(_sql(len(succeeded)), [now, now, now, *succeeded])


def waited_on_step(ended: Sequence[str]) -> Step:
    """A rows step: a row if a run depends on one of `ended`."""
    marks = ", ".join("?" * len(ended))
    sql = f"SELECT 1 FROM task_run_dependencies WHERE depends_on IN ({marks}) LIMIT 1"
    return rows_step(sql, list(ended))

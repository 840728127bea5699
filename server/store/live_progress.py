"""Progress and status messages of iterations still running, written while
they run (throttled by the worker, server/engine/progress.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, update

from taskloom.server.store.group_commit import WriteOp
from taskloom.server.store.models import runs
from taskloom.server.store.transitions import RUNNING

_PROGRESS_UPDATE = (
    update(runs)
    .where(
        runs.c.id == bindparam("b_id"),
        runs.c.worker_id == bindparam("b_worker"),
        runs.c.status == RUNNING,
    )
    .values(
        progress_current=func.coalesce(bindparam("b_current"), runs.c.progress_current),
        progress_total=case(
            (bindparam("b_progress_set"), bindparam("b_total")), else_=runs.c.progress_total
        ),
        progress_units=case(
            (bindparam("b_progress_set"), bindparam("b_units")), else_=runs.c.progress_units
        ),
        status_message=func.coalesce(bindparam("b_message"), runs.c.status_message),
        updated_at=bindparam("b_now"),
    )
)


class FlushProgress(WriteOp[None]):
    """Progress rows of the worker's running iterations; merged into one
    executemany. Only the worker holding the run's lease may write them."""

    def __init__(self, worker_id: str, rows: list[dict[str, Any]], now: float) -> None:
        self.params = [dict(row, b_worker=worker_id, b_now=now) for row in rows]

    @classmethod
    def apply_many(cls, conn: Connection, ops: Sequence[Any]) -> list[Any]:
        params = [p for op in ops for p in op.params]
        if params:
            conn.execute(_PROGRESS_UPDATE, params)
        return [None] * len(ops)

"""The claim on SQLite, hand-shaped: one UPDATE … RETURNING that walks the
claim index in order, as a script the writer process can commit.

It writes what `transitions.claim` writes (tests/integration/
test_store_claim_sql.py holds them equal). Each row
also returns its rowid, last: the reader keeps it in `claimed_rowids`, where
the outcome's UPDATE finds it (outcome_sql.py), and hands the engine the
claimed columns alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Dialect

from taskloom.server.store.definition_pauses import NOT_PAUSED_SQL
from taskloom.server.store.models import NOT_RUNNING
from taskloom.server.store.sqlite.compiled import RowReader
from taskloom.server.store.sqlite.rowids import claimed_rowids
from taskloom.server.store.sqlite.scripts import Script, rows_step
from taskloom.server.store.transitions import PENDING, RUNNING


class ClaimedReader:
    """Claimed rows as dicts of the claimed columns (SQLAlchemy's result
    processors applied); their rowids, last in each row, go to
    `claimed_rowids`."""

    def __init__(self, columns: Sequence[Any], dialect: Dialect) -> None:
        self.rows = RowReader(columns, dialect)
        self.returned = ", ".join([*self.rows.names, "rowid"])

    def read(self, found: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        claimed_rowids.remember((values[0], values[-1]) for values in found)
        # zip() stops at the shorter: the names, without the rowid.
        return self.rows.read(found)


_READERS: dict[tuple[int, int], ClaimedReader] = {}


def claimed_reader(columns: Sequence[Any], dialect: Dialect) -> ClaimedReader:
    key = (id(columns), id(dialect))
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = ClaimedReader(columns, dialect)
    return reader


def claim_script(
    dialect: Dialect,
    columns: Sequence[Any],
    *,
    worker_id: str,
    limit: int,
    now: float,
    lease_until: float,
    definitions: Sequence[str],
    oldest_first: bool = False,
) -> tuple[Script, ClaimedReader]:
    """The claim of up to `limit` due runs of `definitions`, highest
    priority first, then due time, then insertion (the claim index's order).

    `oldest_first` (the claim's periodic turn against starvation, without
    limits): the due runs created first, whatever their priority or the due
    time their caller chose. When all pending runs share one priority (two
    index probes) the claim index's own order stands in for it (a caller
    cannot date a run before its trigger, new_runs.due_after); otherwise
    the due runs are sorted."""
    reader = claimed_reader(columns, dialect)
    marks = ", ".join("?" * len(definitions))
    update = (
        f"UPDATE task_runs SET status = '{RUNNING}', worker_id = ?, last_worker_id = ?, "
        "lease_expires_at = ?, claims = claims + 1, "
        "started_at = coalesce(started_at, ?), "
        "attempt_started_at = coalesce(attempt_started_at, ?), updated_at = ? "
    )
    due = (
        f"WHERE status = '{PENDING}' AND {NOT_RUNNING} AND run_at <= ? "
        f"AND definition_id IN ({marks}) AND {NOT_PAUSED_SQL}"
    )
    returned = f"RETURNING {reader.returned}"
    params = [worker_id, worker_id, lease_until, now, now, now, now, *definitions, limit]
    in_order = (
        f"{update} WHERE rowid IN (SELECT rowid FROM task_runs INDEXED BY ix_task_runs_claim "
        f"{due} ORDER BY priority DESC, run_at LIMIT ?) {returned}"
    )
    if not oldest_first:
        return Script([rows_step(in_order, params)]), reader
    probe = f"SELECT priority FROM task_runs WHERE status = '{PENDING}' AND {NOT_RUNNING} ORDER BY"
    oldest = (
        f"{update} WHERE rowid IN (SELECT rowid FROM task_runs {due} "
        f"ORDER BY created_at, id LIMIT ?) {returned}"
    )
    steps = [
        rows_step(f"{probe} priority DESC LIMIT 1", []),
        rows_step(f"{probe} priority LIMIT 1", []),
        rows_step(in_order, params, (0, 1, True)),
        rows_step(oldest, params, (0, 1, False)),
    ]
    return Script(steps), reader


def claimed_rows(reader: ClaimedReader, results: list[Any]) -> list[dict[str, Any]]:
    """The claimed runs, from the results of the claim's script."""
    return reader.read([found for found in results if found is not None][-1])

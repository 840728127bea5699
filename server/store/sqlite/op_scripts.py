"""Which operations the SQLite writer process can commit, as scripts.

The adapter turns a claim, an outcome batch or new runs into a script
(scripts.py) its writer process commits, and reads the operation's result
back from the script's results; every other operation, and these when no
script can be made, needs a connection of this process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Dialect

from taskloom.server.store import history
from taskloom.server.store.claims import Claim
from taskloom.server.store.models import runs
from taskloom.server.store.new_runs import InsertRuns
from taskloom.server.store.outcomes import FinishIterations, dependents, failed_ids
from taskloom.server.store.sqlite import outcome_sql
from taskloom.server.store.sqlite.claim_sql import claim_script, claimed_rows
from taskloom.server.store.sqlite.inserts import insert_steps
from taskloom.server.store.sqlite.release_sql import release_step, waited_on_step
from taskloom.server.store.sqlite.scripts import Script
from taskloom.server.store.transitions import CLAIMED, SUCCEEDED

Scripted = tuple[Script, Callable[[list[Any]], Any]]  # the script, its result's reader


def script_of(op: Any, dialect: Dialect) -> Scripted | None:
    if isinstance(op, Claim):
        return _claim(op, dialect)
    if isinstance(op, FinishIterations):
        return _finish(op, dialect)
    if isinstance(op, InsertRuns):
        steps = insert_steps(dialect, runs, op.rows)
        return (Script(steps), lambda _results: None) if steps else None
    return None


def _claim(op: Claim, dialect: Dialect) -> Scripted | None:
    # Counting against limits needs this process's connection.
    if op.limits or not op.definitions or op.limit <= 0:
        return None
    op.retime()
    script, reader = claim_script(
        dialect,
        CLAIMED,
        worker_id=op.worker_id,
        limit=op.limit,
        now=op.now,
        lease_until=op.lease_until,
        definitions=op.definitions,
        oldest_first=op.oldest_first,
    )
    return script, lambda results: claimed_rows(reader, results)


def _finish(op: FinishIterations, dialect: Dialect) -> Scripted | None:
    """The outcomes' UPDATEs and their dependents, guarded: rolled back
    unless every lease was held (then this process's path tells the lost
    ones apart); then the runs their successes release. A changed input or
    a capped history needs this process's connection."""
    outcomes = op.outcomes
    if history.to_trim(outcomes) or any(o.new_input is not None for o in outcomes):
        return None
    updates = outcome_sql.update_steps(dialect, outcomes, rowids=True)
    script = Script(list(updates), guarded=len(updates), expect=len(outcomes))
    for table, rows in dependents(outcomes):
        steps = insert_steps(dialect, table, rows)
        if steps is None:
            return None
        script.steps += steps
    saved = [True] * len(outcomes)
    succeeded = [o for o in outcomes if o.status == SUCCEEDED]
    released = ended = None  # the indexes of their steps
    if succeeded:
        now = max(o.now for o in succeeded)
        released = len(script.steps)
        script.steps.append(release_step([o.run_id for o in succeeded], now))
    if failed_ids(outcomes):
        ended = len(script.steps)
        script.steps.append(waited_on_step(failed_ids(outcomes)))

    def read(results: list[Any]) -> list[bool]:
        if released is not None:
            op.released = [(run_id, status) for run_id, status in results[released]]
        if ended is not None:
            op.failed_dependencies = bool(results[ended])
        return saved

    return script, read

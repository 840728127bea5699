"""A write's SQL made up front, as plain data: a script of steps (SQLite).

The hot writes on SQLite (a claim, a batch of outcomes, new runs) know
their statements and values before they touch the database. As a script
they run the same way on this process's connection (`run_steps`) or in the
writer process (writer_process.py), which commits them while this process
goes on with the engine's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import StatementError

# A step with a condition runs only if the rows of two earlier steps are
# equal (True) or differ (False).
Condition = tuple[int, int, bool]
# kind "rows": execute, the rows fetched; "many": executemany, the row count.
Step = tuple[str, Any, str, Condition | None]


def rows_step(sql: str, values: Sequence[Any], when: Condition | None = None) -> Step:
    return (sql, list(values), "rows", when)


def many_step(sql: str, batch: list[Sequence[Any]]) -> Step:
    return (sql, batch, "many", None)


def grouped(statements: Iterable[tuple[str, Sequence[Any]]]) -> list[Step]:
    """Statements and their values as executemany steps: consecutive ones
    with the same SQL share a step, so the rows reach the database in the
    order given."""
    steps: list[Step] = []
    sql = ""
    batch: list[Sequence[Any]] = []
    for next_sql, values in statements:
        if next_sql != sql and batch:
            steps.append(many_step(sql, batch))
            batch = []
        sql = next_sql
        batch.append(values)
    if batch:
        steps.append(many_step(sql, batch))
    return steps


@dataclass
class Script:
    """Steps run in one transaction. If the first `guarded` steps change
    other than `expect` rows in all, it is rolled back (a lease was lost:
    the write's own path tells which)."""

    steps: list[Step] = field(default_factory=list)
    guarded: int = 0
    expect: int = 0


def run_steps(conn: Connection, steps: Sequence[Step]) -> list[Any]:
    """Runs unconditional steps on the connection's driver, in the current
    transaction; each step's rows or row count. Errors as
    `Connection.execute` reports them: the writer rolls back and the store
    turns them into a StoreError."""
    driver = conn.connection.driver_connection
    assert driver is not None
    results: list[Any] = []
    sql = ""
    try:
        for sql, values, kind, _when in steps:
            if kind == "rows":
                results.append(driver.execute(sql, values).fetchall())
            elif len(values) == 1:  # execute binds one row for less than executemany
                results.append(driver.execute(sql, values[0]).rowcount)
            else:
                results.append(driver.executemany(sql, values).rowcount)
    except Exception as exc:
        raise StatementError(str(exc), sql, None, exc) from exc
    return results

"""Hot-path statements: SQLAlchemy Core compiled once, executed on the
driver's cursor.

On SQLite the writer thread holds a stdlib `sqlite3` connection; going
through `Connection.execute` costs more per statement (cache-key
generation, parameter construction, result setup, events) than SQLite takes
to run it. A `FastStatement` compiles its Core statement once per dialect,
keeps the positional parameter order and SQLAlchemy's own bind processors
(JSON serialisation, booleans), and hands the rows to the driver's
`execute`/`executemany`. What reaches the database is byte for byte what
`Connection.execute` would send. Other dialects (PostgreSQL through
asyncpg) take the ordinary `Connection.execute` path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any] | None


_FROM_ROW = object()


class _Compiled:
    def __init__(
        self, sql: str, names: list[str], fixed: list[Any], processors: list[Processor]
    ) -> None:
        self.sql = sql
        self.plan = list(zip(names, fixed, processors, strict=True))

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = []
        for name, fixed, process in self.plan:
            value = row[name] if fixed is _FROM_ROW else fixed
            values.append(value if process is None else process(value))
        return tuple(values)


class FastStatement:
    """A Core statement whose bind parameters are all named in the rows
    passed to `execute_many` (for an INSERT: give `column_keys`)."""

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[int, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(id(dialect))
        if found is not None:
            return found
        compiled = self.statement.compile(  # type: ignore[attr-defined]
            dialect=dialect, column_keys=self.column_keys
        )
        names = list(compiled.positiontup or ())
        fixed: list[Any] = []
        processors: list[Processor] = []
        for name in names:
            bind = compiled.binds[name]
            # A bind with a value of its own (`.values(worker_id=None)`) is
            # fixed; the others come from each row.
            fixed.append(_FROM_ROW if bind.required else bind.effective_value)
            processors.append(bind.type._cached_bind_processor(dialect))
        made = _Compiled(compiled.string, names, fixed, processors)
        self._compiled[id(dialect)] = made
        return made

    def execute_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, list(rows))
            return
        compiled = self._compile(conn.dialect)
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            if len(rows) == 1:
                driver.execute(compiled.sql, compiled.params(rows[0]))
            else:
                driver.executemany(compiled.sql, [compiled.params(row) for row in rows])
        except Exception as exc:
            # As Connection.execute reports it: the writer rolls the batch
            # back and the store turns it into a StoreError.
            raise StatementError(str(exc), compiled.sql, None, exc) from exc


# --- the worker's two per-batch statements, on SQLite ---------------------------

_CHUNK = 500


def running_owners(conn: Connection, run_ids: Sequence[str]) -> dict[str, str | None]:
    """`{run id: worker id}` of those of `run_ids` that are RUNNING (SQLite)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    owners: dict[str, str | None] = {}
    for start in range(0, len(run_ids), _CHUNK):
        chunk = list(run_ids[start : start + _CHUNK])
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT id, worker_id FROM task_runs WHERE status = 'RUNNING' AND id IN ({marks})"
        try:
            owners.update(driver.execute(sql, chunk).fetchall())
        except Exception as exc:
            raise StatementError(str(exc), sql, None, exc) from exc
    return owners


class _RowReader:
    """Turns driver rows of every column of a table into dicts, with
    SQLAlchemy's own result processors (JSON columns)."""

    def __init__(self, table: Any, dialect: Dialect) -> None:
        self.names = [c.name for c in table.columns]
        self.processors = [c.type._cached_result_processor(dialect, None) for c in table.columns]

    def read(self, values: Sequence[Any]) -> dict[str, Any]:
        return {
            name: value if process is None else process(value)
            for name, process, value in zip(self.names, self.processors, values, strict=True)
        }


_READERS: dict[tuple[str, int], _RowReader] = {}


def claim_due(
    conn: Connection,
    table: Any,
    *,
    worker_id: str,
    limit: int,
    now: float,
    lease_until: float,
    definitions: Sequence[str],
) -> list[dict[str, Any]]:
    """`writes.Claim` on SQLite, on the driver: one UPDATE … RETURNING that
    walks ix_task_runs_claim in order (priority, due time, then insertion)."""
    if not definitions or limit <= 0:
        return []
    driver = conn.connection.driver_connection
    assert driver is not None
    key = (table.name, id(conn.dialect))
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = _RowReader(table, conn.dialect)
    marks = ", ".join("?" * len(definitions))
    columns = ", ".join(reader.names)
    sql = (
        "UPDATE task_runs SET status = 'RUNNING', worker_id = ?, lease_expires_at = ?, "
        "started_at = coalesce(started_at, ?), "
        "attempt_started_at = coalesce(attempt_started_at, ?), updated_at = ? "
        "WHERE id IN (SELECT id FROM task_runs INDEXED BY ix_task_runs_claim "
        "WHERE status = 'PENDING' AND run_at <= ? "
        f"AND definition_id IN ({marks}) ORDER BY priority DESC, run_at LIMIT ?) "
        f"RETURNING {columns}"
    )
    params = [worker_id, lease_until, now, now, now, now, *definitions, limit]
    try:
        rows = driver.execute(sql, params).fetchall()
    except Exception as exc:
        raise StatementError(str(exc), sql, None, exc) from exc
    return [reader.read(row) for row in rows]

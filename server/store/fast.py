"""Hot-path statements: SQLAlchemy Core compiled once, executed on the
driver's cursor.

On SQLite the writer thread holds a stdlib `sqlite3` connection; going
through `Connection.execute` costs more per statement (cache-key
generation, parameter construction, result setup, events) than SQLite takes
to run it. A `FastStatement` compiles its Core statement once per dialect,
keeps the positional parameter order and SQLAlchemy's own bind processors
(JSON serialisation, booleans), and hands the rows to the driver's
`execute`/`executemany`. What reaches the database is what
`Connection.execute` would send, except that a parameter whose value is None
is written as a NULL literal in the SQL instead of being bound: Python 3.11's
sqlite3 looks for an adapter for every None it binds (about 0.7 µs each, and
a new run's row has 16 of them). Other dialects (PostgreSQL through asyncpg)
take the ordinary `Connection.execute` path.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.sql import Executable

from taskloom.server.store.models import NOT_RUNNING
from taskloom.server.store.scripts import Script, Step, grouped, rows_step, run_steps

Processor = Callable[[Any], Any] | None


def json_bind(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's bind processor, with the values most rows carry
    (None, an empty dict) answered from what it gave once."""
    null, empty = process(None), process({})

    def fast(value: Any) -> Any:
        if value is None:
            return null
        if type(value) is dict and not value:
            return empty
        return process(value)

    return fast


def _bool_bind(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A boolean column's bind processor, with True and False answered from
    what it gave once."""
    true, false = process(True), process(False)

    def fast(value: Any) -> Any:
        if value is True:
            return true
        if value is False:
            return false
        return process(value)

    return fast


# What most JSON cells of a run hold (an empty input or state, no output):
# the values json.loads would give, without its parser.
_JSON_CONSTANTS: dict[str, Callable[[], Any]] = {"{}": dict, "[]": list, "null": lambda: None}


def result_processor(column: Any, dialect: Dialect) -> Processor:
    """The column's result processor as SQLAlchemy applies it; for a JSON
    column (unless the dialect has a deserializer of its own) the common
    values above are read without the parser."""
    process: Processor = column.type._cached_result_processor(dialect, None)
    if process is None or not isinstance(column.type, JSON):
        return process
    if getattr(dialect, "_json_deserializer", None) is not None:
        return process
    parse = process

    def fast(value: Any) -> Any:
        make = _JSON_CONSTANTS.get(value) if type(value) is str else None
        return parse(value) if make is None else make()

    return fast


_FROM_ROW = object()


_MAX_NULL_SHAPES = 256  # SQL variants kept per statement


class _Compiled:
    """The positional parameters of a compiled statement: the row's values
    fetched in one C call, fixed values slotted in, then only the columns
    that have a processor (JSON, booleans) converted."""

    def __init__(
        self, sql: str, names: list[str], fixed: list[Any], processors: list[Processor]
    ) -> None:
        self.sql = sql
        self.names = names
        self.processors = processors
        self._pieces = sql.split("?")
        if len(self._pieces) != len(names) + 1:
            raise ValueError(f"cannot place the parameters of {sql!r}")
        self._shapes: dict[tuple[type, ...], tuple[str, Callable[[Any], list[Any]]]] = {}
        from_row = [name for name, value in zip(names, fixed, strict=True) if value is _FROM_ROW]
        self._get = _getter(from_row)
        self._fixed = [(i, value) for i, value in enumerate(fixed) if value is not _FROM_ROW]
        self._process = [(i, p) for i, p in enumerate(processors) if p is not None]

    def params(self, row: dict[str, Any]) -> list[Any]:
        values = self._get(row)
        for i, value in self._fixed:
            values.insert(i, value)
        for i, process in self._process:
            values[i] = process(values[i])
        return values

    def without_nulls(self, values: list[Any]) -> tuple[str, list[Any]]:
        """The SQL and values to send for `values`: its Nones as NULL literals."""
        if None not in values:
            return self.sql, values
        # Keyed by the values' types, which place the Nones: one C call.
        shape = tuple(map(type, values))
        found = self._shapes.get(shape)
        if found is None:
            found = self._placing_nulls(values)
            if len(self._shapes) < _MAX_NULL_SHAPES:
                self._shapes[shape] = found
        sql, keep = found
        return sql, keep(values)

    def _placing_nulls(self, values: list[Any]) -> tuple[str, Callable[[Any], list[Any]]]:
        marks = ["NULL" if value is None else "?" for value in values]
        tail = zip(marks, self._pieces[1:], strict=True)
        sql = self._pieces[0] + "".join(mark + piece for mark, piece in tail)
        return sql, _getter([i for i, value in enumerate(values) if value is not None])


def _getter(names: Sequence[Any]) -> Callable[[Any], list[Any]]:
    if not names:
        return lambda _row: []
    get = operator.itemgetter(*names)
    if len(names) == 1:
        return lambda row: [get(row)]
    return lambda row: list(get(row))


class FastStatement:
    """A Core statement whose bind parameters are all named in the rows
    passed to `execute_many` (for an INSERT: give `column_keys`)."""

    def __init__(self, statement: Executable, column_keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._compiled: dict[int, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
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
            process = bind.type._cached_bind_processor(dialect)
            if isinstance(bind.type, JSON) and process is not None:
                process = json_bind(process)
            elif isinstance(bind.type, Boolean) and process is not None:
                process = _bool_bind(process)
            processors.append(process)
        made = _Compiled(compiled.string, names, fixed, processors)
        self._compiled[id(dialect)] = made
        return made

    def steps(self, dialect: Dialect, rows: Sequence[dict[str, Any]]) -> list[Step]:
        """The statement for `rows` on SQLite, as script steps (rows with
        their Nones in the same places share one)."""
        compiled = self.compiled(dialect)
        return grouped(compiled.without_nulls(compiled.params(row)) for row in rows)

    def execute_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, list(rows))
            return
        run_steps(conn, self.steps(conn.dialect, rows))


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


class RowReader:
    """Turns driver rows of `leading` names (no processing) then the given
    columns into dicts, with SQLAlchemy's own result processors (JSON
    columns, booleans)."""

    def __init__(
        self, columns: Sequence[Any], dialect: Dialect, leading: Sequence[str] = ()
    ) -> None:
        self.names = [*leading, *(c.name for c in columns)]
        processors = [(c.name, result_processor(c, dialect)) for c in columns]
        self._process = [(name, p) for name, p in processors if p is not None]

    def read(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        names = self.names
        read = [dict(zip(names, values, strict=True)) for values in rows]
        for name, process in self._process:
            for row in read:
                row[name] = process(row[name])
        return read


_READERS: dict[tuple[int, int], RowReader] = {}

# The key of a claimed row's SQLite rowid. A rowid changes only by VACUUM
# (the id is not an INTEGER PRIMARY KEY); the outcome's UPDATE checks the id
# as well, so a stale rowid finds nothing instead of another run.
ROWID = "rowid"


def _reader(columns: Sequence[Any], dialect: Dialect) -> RowReader:
    key = (id(columns), id(dialect))
    reader = _READERS.get(key)
    if reader is None:
        reader = _READERS[key] = RowReader(columns, dialect, (ROWID,))
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
) -> tuple[Script, RowReader]:
    """`writes.Claim` on SQLite: one UPDATE … RETURNING `columns` that walks
    ix_task_runs_claim in order (priority, due time, then insertion). Each
    row also carries its `ROWID`: the outcome's UPDATE finds the row by it
    without a search of the primary-key index (outcome_sql.py).

    `oldest_first` (limits.FairClaim's turn, without limits): due time
    first, whatever the priority. When all pending runs share one priority
    (two index probes) that is the claim index's own order; otherwise the
    due runs are sorted."""
    reader = _reader(columns, dialect)
    marks = ", ".join("?" * len(definitions))
    update = (
        "UPDATE task_runs SET status = 'RUNNING', worker_id = ?, lease_expires_at = ?, "
        "started_at = coalesce(started_at, ?), "
        "attempt_started_at = coalesce(attempt_started_at, ?), updated_at = ? "
    )
    due = (
        f"WHERE status = 'PENDING' AND {NOT_RUNNING} AND run_at <= ? AND definition_id IN ({marks})"
    )
    returned = f"RETURNING {', '.join(reader.names)}"
    params = [worker_id, lease_until, now, now, now, now, *definitions, limit]
    in_order = (
        f"{update} WHERE rowid IN (SELECT rowid FROM task_runs INDEXED BY ix_task_runs_claim "
        f"{due} ORDER BY priority DESC, run_at LIMIT ?) {returned}"
    )
    if not oldest_first:
        return Script([rows_step(in_order, params)]), reader
    probe = f"SELECT priority FROM task_runs WHERE status = 'PENDING' AND {NOT_RUNNING} ORDER BY"
    oldest = (
        f"{update} WHERE rowid IN (SELECT rowid FROM task_runs {due} "
        f"ORDER BY run_at, id LIMIT ?) {returned}"
    )
    steps = [
        rows_step(f"{probe} priority DESC LIMIT 1", []),
        rows_step(f"{probe} priority LIMIT 1", []),
        rows_step(in_order, params, (0, 1, True)),
        rows_step(oldest, params, (0, 1, False)),
    ]
    return Script(steps), reader

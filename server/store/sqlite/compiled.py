"""SQLite's hot-path statements: SQLAlchemy Core compiled once, executed on
the driver's cursor.

The writer thread holds a stdlib `sqlite3` connection; going
through `Connection.execute` costs more per statement (cache-key
generation, parameter construction, result setup, events) than SQLite takes
to run it. A `CompiledStatement` compiles its Core statement once per dialect,
keeps the positional parameter order and the column types' own bind
processors (JSON serialisation, booleans; `TypeEngine.bind_processor` of the
dialect's implementation, taken once), and hands the rows to the driver's
`execute`/`executemany`. What reaches the database is what
`Connection.execute` would send, except that a parameter whose value is None
is written as a NULL literal in the SQL instead of being bound: Python 3.11's
sqlite3 looks for an adapter for every None it binds (about 0.7 µs each, and
a new run's row has 16 of them).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from taskloom.server.store.sqlite.scripts import Step, grouped, run_steps

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


def bind_processor(type_: Any, dialect: Dialect) -> Processor:
    """The bind processor SQLAlchemy applies to a value of `type_` on
    `dialect` (that of the dialect's implementation of the type)."""
    process: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return process


def result_processor(column: Any, dialect: Dialect) -> Processor:
    """The column's result processor as SQLAlchemy applies it; for a JSON
    column the common values above are read without the parser (the
    store's engines keep the default deserializer, json.loads)."""
    process: Processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
    if process is None or not isinstance(column.type, JSON):
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


class CompiledStatement:
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
            process = bind_processor(bind.type, dialect)
            if isinstance(bind.type, JSON) and process is not None:
                process = json_bind(process)
            elif isinstance(bind.type, Boolean) and process is not None:
                process = _bool_bind(process)
            processors.append(process)
        made = _Compiled(compiled.string, names, fixed, processors)
        self._compiled[id(dialect)] = made
        return made

    def steps(self, dialect: Dialect, rows: Sequence[dict[str, Any]]) -> list[Step]:
        """The statement for `rows`, as script steps (rows with their Nones
        in the same places share one)."""
        compiled = self.compiled(dialect)
        return grouped(compiled.without_nulls(compiled.params(row)) for row in rows)

    def execute_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            run_steps(conn, self.steps(conn.dialect, rows))


class RowReader:
    """Turns driver rows of the given columns into dicts, with the columns'
    result processors (JSON columns, booleans); values after the columns'
    are left out."""

    def __init__(self, columns: Sequence[Any], dialect: Dialect) -> None:
        self.names = [c.name for c in columns]
        processors = [(c.name, result_processor(c, dialect)) for c in columns]
        self._process = [(name, p) for name, p in processors if p is not None]

    def read(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        names = self.names
        read = [dict(zip(names, values, strict=False)) for values in rows]
        for name, process in self._process:
            for row in read:
                row[name] = process(row[name])
        return read
